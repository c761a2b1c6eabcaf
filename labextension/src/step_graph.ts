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
const CHAR_WIDTH = 6.2;
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

export function stepGraph(steps: IPipelineStep[], edges: [string, string][]): SVGSVGElement {
  const names = steps.map(step => step.name);
  const columns = stepColumns(names, edges);
  const byColumn = new Map<number, IPipelineStep[]>();
  for (const step of steps) {
    const c = columns.get(step.name)!;
    byColumn.set(c, [...(byColumn.get(c) ?? []), step]);
  }
  const order = [...byColumn.keys()].sort((a, b) => a - b);
  const widths = new Map<number, number>();
  const xs = new Map<number, number>();
  let x = MARGIN;
  for (const c of order) {
    const longest = Math.max(
      6,
      ...byColumn.get(c)!.map(s => Math.max(shorten(s.name).length, shorten(outcome(s)).length))
    );
    widths.set(c, longest * CHAR_WIDTH + 14);
    xs.set(c, x);
    x += widths.get(c)! + COLUMN_GAP;
  }
  const rows = Math.max(1, ...[...byColumn.values()].map(list => list.length));
  const width = Math.max(x - COLUMN_GAP + MARGIN, 120);
  const height = MARGIN * 2 + rows * (BOX_HEIGHT + ROW_GAP) - ROW_GAP;
  const root = svg('svg', {
    class: 'jp-mlops-step-graph',
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: 'img'
  });
  root.appendChild(svg('title', {}, `Steps: ${names.join(', ')}`));
  const place = new Map<string, [number, number, number]>();
  for (const [c, list] of byColumn) {
    list.forEach((step, row) => {
      place.set(step.name, [xs.get(c)!, MARGIN + row * (BOX_HEIGHT + ROW_GAP), widths.get(c)!]);
    });
  }
  for (const [source, target] of edges) {
    const from = place.get(source);
    const to = place.get(target);
    if (!from || !to) {
      continue;
    }
    const [x1, y1] = [from[0] + from[2], from[1] + BOX_HEIGHT / 2];
    const [x2, y2] = [to[0] - 2, to[1] + BOX_HEIGHT / 2];
    const bend = Math.max((x2 - x1) / 2, 8);
    const path = svg('path', {
      class: 'jp-mlops-step-edge',
      d: `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}`
    });
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
