/**
 * A sweep's charts in SVG: parallel coordinates of the children's parameters and the
 * metric, and one parameter against the metric; drawn like the notebook's sweep view.
 *
 * Each child is one line (or point) coloured by its value of the metric, from pale
 * (worst) to dark (best); the best child is drawn last, thick and red, so it is never
 * hidden. Where a parameter sits on its axis comes from the server (`positions`); the
 * metric's axis spans the children's values. A click on a line or point calls `open`
 * with the child's id.
 */
import { svg } from './chart';
import { formatNumber, formatScalar } from './format';
import { axisTicks } from './ticks';
import type { ISweep, ISweepAxis, ISweepChild } from './types';

/** From pale to dark blue: worst to best, as the notebook's sweep view. */
const RAMP: [number[], number[]] = [
  [0xc6, 0xdb, 0xef],
  [0x08, 0x30, 0x6b]
];
const NO_VALUE = '#bbbbbb';
export const BEST_COLOUR = '#d62728';

/** The range of the children's values of the metric, or null when none has one. */
export function valueRange(sweep: ISweep): { low: number; high: number } | null {
  const values = sweep.children
    .map(child => child.value)
    .filter((value): value is number => value !== null && Number.isFinite(value));
  return values.length ? { low: Math.min(...values), high: Math.max(...values) } : null;
}

/** Where a value of the metric sits on its axis, 0 (bottom) to 1 (top). */
function valuePosition(
  value: number | null,
  range: { low: number; high: number } | null
): number | null {
  if (value === null || range === null) {
    return null;
  }
  return range.high === range.low ? 0.5 : (value - range.low) / (range.high - range.low);
}

/** The colour of a child: its place between the worst and the best value. */
export function colourOf(
  value: number | null,
  range: { low: number; high: number } | null,
  maximize: boolean
): string {
  const where = valuePosition(value, range);
  if (where === null) {
    return NO_VALUE;
  }
  const share = maximize ? where : 1 - where;
  const channel = (i: number) => Math.round(RAMP[0][i] + (RAMP[1][i] - RAMP[0][i]) * share);
  return `#${[0, 1, 2].map(i => channel(i).toString(16).padStart(2, '0')).join('')}`;
}

/** Children in drawing order: without a value first, then worst to best, the best last. */
function ordered(sweep: ISweep): ISweepChild[] {
  const sign = sweep.maximize ? 1 : -1;
  const rank = (child: ISweepChild): [number, number] =>
    child.id === sweep.best ? [2, 0] : child.value === null ? [0, 0] : [1, sign * child.value];
  return [...sweep.children].sort((a, b) => {
    const [ra, va] = rank(a);
    const [rb, vb] = rank(b);
    return ra - rb || va - vb;
  });
}

/** Labels along a parameter's axis: its categories (about eight at most), or round values. */
function ticks(axis: ISweepAxis): [number, string][] {
  if (!axis.numeric) {
    const count = axis.categories.length;
    const step = Math.max(1, Math.ceil(count / 8));
    return axis.categories
      .map((label, index): [number, string] => [
        count === 1 ? 0.5 : index / (count - 1),
        label.slice(0, 14)
      ])
      .filter((_, index) => index % step === 0 || index === count - 1);
  }
  return numericTicks(axis.low, axis.high, axis.log_scale);
}

/** Round values within a numeric axis's range (powers of ten on a log axis), placed on it. */
function numericTicks(low: number | null, high: number | null, log: boolean): [number, string][] {
  if (low === null || high === null) {
    return [];
  }
  const found = axisTicks(low, high, { count: 5, log, outward: false });
  const place = (value: number): number => {
    if (high === low) {
      return 0.5;
    }
    return log
      ? (Math.log10(value) - Math.log10(low)) / (Math.log10(high) - Math.log10(low))
      : (value - low) / (high - low);
  };
  return found.values.map((value, index): [number, string] => [place(value), found.labels[index]]);
}

interface IMark {
  child: ISweepChild;
  best: boolean;
  colour: string;
}

/** A line's or point's look and what a click on it does. */
function marks(sweep: ISweep): IMark[] {
  const range = valueRange(sweep);
  return ordered(sweep).map(child => {
    const best = child.id === sweep.best;
    return {
      child,
      best,
      colour: best ? BEST_COLOUR : colourOf(child.value, range, sweep.maximize)
    };
  });
}

function clickable(element: SVGElement, child: ISweepChild, open: (runId: string) => void): void {
  element.setAttribute('data-run-id', child.id);
  element.setAttribute('tabindex', '0');
  element.setAttribute('role', 'link');
  element.addEventListener('click', () => open(child.id));
  element.addEventListener('keydown', event => {
    if ((event as KeyboardEvent).key === 'Enter') {
      open(child.id);
    }
  });
}

function opening(width: number, height: number, label: string, className: string): SVGSVGElement {
  const root = svg('svg', {
    class: `jp-mlops-chart jp-mlops-sweep-chart ${className}`,
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: 'img',
    'aria-label': label
  });
  root.appendChild(svg('title', {}, label));
  return root;
}

function text(x: number, y: number, value: string, attributes: Record<string, string> = {}) {
  return svg(
    'text',
    { x: x.toFixed(1), y: y.toFixed(1), class: 'jp-mlops-chart-label', ...attributes },
    value
  );
}

/**
 * Every child as a line across one vertical axis per parameter and a last axis for the
 * metric; the best child in red. Each line's tooltip names the child.
 */
export function parallelCoordinates(
  sweep: ISweep,
  open: (runId: string) => void,
  width = 760,
  height = 320
): SVGSVGElement {
  const metric = sweep.metric ?? 'metric';
  const range = valueRange(sweep);
  const [left, right, top, bottom] = [40, 60, 20, 36];
  const root = opening(
    width,
    height,
    `${sweep.children.length} runs by ${sweep.metric ?? 'no metric'}`,
    'jp-mlops-sweep-parallel'
  );
  const plotHeight = height - top - bottom;
  const axes: { label: string; ticks: [number, string][] }[] = [
    ...sweep.axes.map(axis => ({
      label: axis.key + (axis.log_scale ? ' (log)' : ''),
      ticks: ticks(axis)
    })),
    { label: metric, ticks: numericTicks(range?.low ?? null, range?.high ?? null, false) }
  ];
  const gap = (width - left - right) / Math.max(axes.length - 1, 1);
  const xs = axes.map((_, index) => left + index * gap);
  const y = (share: number) => top + (1 - share) * plotHeight;
  axes.forEach((axis, index) => {
    const x = xs[index];
    root.appendChild(
      svg('line', {
        class: 'jp-mlops-chart-axis jp-mlops-sweep-axis',
        x1: x.toFixed(1),
        x2: x.toFixed(1),
        y1: top,
        y2: top + plotHeight
      })
    );
    root.appendChild(
      text(x, height - 18, axis.label.slice(0, 22), {
        'text-anchor': 'middle',
        class: 'jp-mlops-chart-label jp-mlops-sweep-axis-label'
      })
    );
    for (const [share, label] of axis.ticks) {
      root.appendChild(
        text(x + 4, y(share) + 4, label, {
          class: 'jp-mlops-chart-label jp-mlops-sweep-tick',
          'data-axis': String(index)
        })
      );
    }
  });
  for (const { child, best, colour } of marks(sweep)) {
    const shares = [...child.positions, valuePosition(child.value, range)];
    const points = shares
      .map((share, index) =>
        share === null || share === undefined
          ? null
          : `${xs[index].toFixed(1)},${y(share).toFixed(1)}`
      )
      .filter((point): point is string => point !== null);
    if (points.length === 0) {
      continue;
    }
    const line = svg('polyline', {
      class: `jp-mlops-sweep-line${best ? ' jp-mlops-sweep-best' : ''}`,
      fill: 'none',
      stroke: colour,
      'stroke-width': best ? 3 : 1.2,
      'stroke-opacity': best ? 1 : 0.7,
      points: points.join(' ')
    });
    line.appendChild(svg('title', {}, `${child.name}: ${metric} = ${formatNumber(child.value)}`));
    clickable(line, child, open);
    root.appendChild(line);
  }
  return root;
}

/** Each child as a point, `param` across and the metric up; the best child in red. */
export function paramScatter(
  sweep: ISweep,
  param: string,
  open: (runId: string) => void,
  width = 420,
  height = 280
): SVGSVGElement {
  const metric = sweep.metric ?? 'metric';
  const index = sweep.axes.findIndex(axis => axis.key === param);
  const axis = sweep.axes[index];
  const range = valueRange(sweep);
  const [left, right, top, bottom] = [56, 16, 16, 40];
  const root = opening(width, height, `${metric} by ${param}`, 'jp-mlops-sweep-scatter');
  if (axis === undefined || range === null) {
    root.appendChild(text(width / 2, height / 2, 'nothing to draw', { 'text-anchor': 'middle' }));
    return root;
  }
  const plotWidth = width - left - right;
  const plotHeight = height - top - bottom;
  root.appendChild(
    svg('line', {
      class: 'jp-mlops-chart-axis',
      x1: left,
      x2: left,
      y1: top,
      y2: top + plotHeight
    })
  );
  root.appendChild(
    svg('line', {
      class: 'jp-mlops-chart-axis',
      x1: left,
      x2: left + plotWidth,
      y1: top + plotHeight,
      y2: top + plotHeight
    })
  );
  for (const [share, label] of ticks(axis)) {
    root.appendChild(
      text(left + share * plotWidth, top + plotHeight + 14, label, {
        'text-anchor': 'middle',
        class: 'jp-mlops-chart-label jp-mlops-sweep-tick',
        'data-axis': 'x'
      })
    );
  }
  for (const [share, label] of numericTicks(range.low, range.high, false)) {
    root.appendChild(
      text(left - 4, top + (1 - share) * plotHeight + 4, label, {
        'text-anchor': 'end',
        class: 'jp-mlops-chart-label jp-mlops-sweep-tick',
        'data-axis': 'y'
      })
    );
  }
  root.appendChild(
    text(left + plotWidth / 2, height - 6, param + (axis.log_scale ? ' (log)' : ''), {
      'text-anchor': 'middle',
      class: 'jp-mlops-chart-label jp-mlops-sweep-axis-label'
    })
  );
  for (const { child, best, colour } of marks(sweep)) {
    const across = child.positions[index];
    const up = valuePosition(child.value, range);
    if (across === null || across === undefined || up === null) {
      continue;
    }
    const point = svg('circle', {
      class: `jp-mlops-sweep-point${best ? ' jp-mlops-sweep-best' : ''}`,
      cx: (left + across * plotWidth).toFixed(1),
      cy: (top + (1 - up) * plotHeight).toFixed(1),
      r: best ? 5 : 3,
      fill: colour
    });
    point.appendChild(
      svg(
        'title',
        {},
        `${child.name}: ${param} = ${formatScalar(child.params[param])}, ${metric} = ${formatNumber(child.value)}`
      )
    );
    clickable(point, child, open);
    root.appendChild(point);
  }
  return root;
}
