/**
 * A pipeline run's steps drawn as a graph: boxes left to right by depth (a step sits one
 * column right of its deepest parent), arrows for the order they run in, each box
 * coloured by how the step ended. Built with DOM calls, so names are text, never markup.
 *
 * `stepGraph(run.steps, run.edges)` returns an `<svg>` that scales to its container.
 */
import { svg } from './chart';
import { stateToken } from './dom';
import { formatDuration } from './format';
import type { IPipelineStep } from './types';

const BOX_HEIGHT = 34;
const COLUMN_GAP = 30;
const ROW_GAP = 10;
const MARGIN = 4;
const CHAR_WIDTH = 6.8;
const MAX_LABEL = 20;

/** Each step's column; edges naming an unknown step are left out, a cycle stops at depth. */
export function stepColumns(names: string[], edges: [string, string][]): Map<string, number> {
  const known = new Set(names);
  const parents = new Map<string, string[]>(names.map(name => [name, []]));
  for (const [source, target] of edges) {
    if (known.has(source) && known.has(target)) {
      parents.get(target)!.push(source);
    }
  }
  const columns = new Map<string, number>();
  const visiting = new Set<string>();
  const column = (name: string): number => {
    const found = columns.get(name);
    if (found !== undefined) {
      return found;
    }
    if (visiting.has(name)) {
      return 0;
    }
    visiting.add(name);
    const depth = Math.max(-1, ...parents.get(name)!.map(column)) + 1;
    visiting.delete(name);
    columns.set(name, depth);
    return depth;
  };
  names.forEach(column);
  return columns;
}

function shorten(text: string): string {
  return text.length <= MAX_LABEL ? text : `${text.slice(0, MAX_LABEL - 1)}…`;
}

/** What a box says under the step's name. */
function outcome(step: IPipelineStep): string {
  const words = step.cached ? 'cached' : step.status.replace(/_/g, ' ');
  if (step.cached || step.status === 'not_run' || step.duration === null) {
    return words;
  }
  return `${words} · ${formatDuration(step.duration)}`;
}

interface ILayout {
  width: number;
  height: number;
  /** Each step's box: x, y, width. */
  place: Map<string, [number, number, number]>;
  down: boolean;
}

/** Columns left to right by depth, a column's steps one under another. */
function across(byDepth: Map<number, IPipelineStep[]>): ILayout {
  const order = [...byDepth.keys()].sort((a, b) => a - b);
  const place = new Map<string, [number, number, number]>();
  let x = MARGIN;
  for (const depth of order) {
    const list = byDepth.get(depth)!;
    const width = boxWidth(list);
    list.forEach((step, row) =>
      place.set(step.name, [x, MARGIN + row * (BOX_HEIGHT + ROW_GAP), width])
    );
    x += width + COLUMN_GAP;
  }
  const rows = Math.max(1, ...[...byDepth.values()].map(list => list.length));
  return {
    width: Math.max(x - COLUMN_GAP + MARGIN, 120),
    height: MARGIN * 2 + rows * (BOX_HEIGHT + ROW_GAP) - ROW_GAP,
    place,
    down: false
  };
}

/** Rows top to bottom by depth, a row's steps side by side: for a narrow sidebar. */
function down(steps: IPipelineStep[], byDepth: Map<number, IPipelineStep[]>): ILayout {
  const order = [...byDepth.keys()].sort((a, b) => a - b);
  const width = boxWidth(steps);
  const place = new Map<string, [number, number, number]>();
  order.forEach((depth, row) => {
    byDepth.get(depth)!.forEach((step, column) => {
      place.set(step.name, [
        MARGIN + column * (width + ROW_GAP),
        MARGIN + row * (BOX_HEIGHT + COLUMN_GAP / 1.5),
        width
      ]);
    });
  });
  const columns = Math.max(1, ...[...byDepth.values()].map(list => list.length));
  return {
    width: Math.max(MARGIN * 2 + columns * (width + ROW_GAP) - ROW_GAP, 120),
    height: MARGIN * 2 + order.length * (BOX_HEIGHT + COLUMN_GAP / 1.5) - COLUMN_GAP / 1.5,
    place,
    down: true
  };
}

function boxWidth(steps: IPipelineStep[]): number {
  const longest = Math.max(
    6,
    ...steps.map(s => Math.max(shorten(s.name).length, shorten(outcome(s)).length))
  );
  return longest * CHAR_WIDTH + 14;
}

/**
 * The graph of `steps`, drawn left to right; top to bottom instead when that is wider
 * than `fitWidth` (a narrow sidebar), so the names stay readable. An SVG wider than its
 * container still scales down (CSS), never clipped.
 */
export function stepGraph(
  steps: IPipelineStep[],
  edges: [string, string][],
  fitWidth = Infinity
): SVGSVGElement {
  const names = steps.map(step => step.name);
  const columns = stepColumns(names, edges);
  const byDepth = new Map<number, IPipelineStep[]>();
  for (const step of steps) {
    const c = columns.get(step.name)!;
    byDepth.set(c, [...(byDepth.get(c) ?? []), step]);
  }
  let layout = across(byDepth);
  if (layout.width > fitWidth) {
    const vertical = down(steps, byDepth);
    layout = vertical.width < layout.width ? vertical : layout;
  }
  const { width, height, place } = layout;
  const root = svg('svg', {
    class: 'jp-mlops-step-graph',
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: 'img',
    'data-layout': layout.down ? 'down' : 'across'
  });
  root.appendChild(svg('title', {}, `Steps: ${names.join(', ')}`));
  for (const [source, target] of edges) {
    const from = place.get(source);
    const to = place.get(target);
    if (!from || !to) {
      continue;
    }
    let d: string;
    if (layout.down) {
      const [x1, y1] = [from[0] + from[2] / 2, from[1] + BOX_HEIGHT];
      const [x2, y2] = [to[0] + to[2] / 2, to[1] - 2];
      const bend = Math.max((y2 - y1) / 2, 6);
      d = `M${x1},${y1} C${x1},${y1 + bend} ${x2},${y2 - bend} ${x2},${y2}`;
    } else {
      const [x1, y1] = [from[0] + from[2], from[1] + BOX_HEIGHT / 2];
      const [x2, y2] = [to[0] - 2, to[1] + BOX_HEIGHT / 2];
      const bend = Math.max((x2 - x1) / 2, 8);
      d = `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}`;
    }
    const path = svg('path', { class: 'jp-mlops-step-edge', d });
    path.appendChild(svg('title', {}, `${source} → ${target}`));
    root.appendChild(path);
  }
  for (const step of steps) {
    const [bx, by, bw] = place.get(step.name)!;
    const state = step.cached ? 'cached' : stateToken(step.status);
    const group = svg('g', {
      class: 'jp-mlops-step-box',
      'data-step': step.name,
      'data-state': state
    });
    group.appendChild(svg('title', {}, `${step.name}: ${outcome(step)}`));
    group.appendChild(svg('rect', { x: bx, y: by, width: bw, height: BOX_HEIGHT, rx: 4 }));
    group.appendChild(
      svg('text', { x: bx + 6, y: by + 14, class: 'jp-mlops-step-name' }, shorten(step.name))
    );
    group.appendChild(
      svg('text', { x: bx + 6, y: by + 27, class: 'jp-mlops-step-outcome' }, shorten(outcome(step)))
    );
    root.appendChild(group);
  }
  return root;
}
