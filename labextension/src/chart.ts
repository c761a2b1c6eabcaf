/**
 * A small SVG line chart for metric curves, with no dependencies.
 *
 * `lineChart([{name: 'loss', points: [[0, 0.9], [1, 0.5], [2, null], [3, 0.3]]}])`
 * returns an `<svg>` with axes, "nice" ticks, one path per series (broken where a
 * value is missing or not finite) and a tooltip (`<title>`) on each point. Colours
 * come from CSS classes, which read the JupyterLab theme's variables. A curve the
 * server downsampled (`logged` more points than it sends) says so with a `note` in
 * the top right corner, and its accessible summary counts the points it stands for.
 */
import { formatCount, formatNumber } from './format';
import { axisTicks, tickPosition } from './ticks';
import type { Point } from './types';

const SVG_NS = 'http://www.w3.org/2000/svg';

/** Points are drawn as dots (with tooltips) only up to this many per series. */
const MAX_DOTS = 60;

export interface ISeries {
  name: string;
  points: Point[];
  /** How many points the curve has when `points` is a preview of it (downsampled). */
  logged?: number;
}

export interface IChartOptions {
  /** Width and height of the drawing in SVG units; the SVG scales to its container. */
  width?: number;
  height?: number;
  title?: string;
  /** What the x axis counts; "step" by default. */
  xLabel?: string;
  /** How a point's tooltip names its x ("accuracy at step 3"); "step" by default. */
  xName?: string;
  /** A few words in the top right corner, such as "downsampled: 1,955 of 1,000,000 points". */
  note?: string;
  /** The note's tooltip. */
  noteTitle?: string;
}

export interface IScale {
  /** Domain bounds after rounding outward to whole ticks. */
  min: number;
  max: number;
  ticks: number[];
}

type Attributes = Record<string, string | number>;

export function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  text?: string
): SVGElementTagNameMap[K] {
  const element = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) {
    element.setAttribute(name, String(value));
  }
  if (text !== undefined) {
    element.textContent = text;
  }
  return element;
}

/**
 * Round a domain outward to about `count` evenly spaced ticks at round numbers (steps of
 * 1, 2 or 5 times a power of ten, see ticks.ts), e.g. niceScale(0.13, 0.92) ->
 * {min: 0, max: 1, ticks: [0, 0.2, 0.4, 0.6, 0.8, 1]}. An empty span (one value) is
 * widened so the value sits mid-chart. Always linear; lineChart also draws log axes.
 */
export function niceScale(min: number, max: number, count = 5, integer = false): IScale {
  const found = axisTicks(min, max, { count, whole: integer, log: false });
  return { min: found.low, max: found.high, ticks: found.values };
}

function isDrawable(point: Point): point is [number, number] {
  return Number.isFinite(point[0]) && point[1] !== null && Number.isFinite(point[1]);
}

/** About how wide a tick label is, in pixels of the theme's small font. */
const CHAR_WIDTH = 6.2;

/**
 * Draw series of [step, value] points as lines in one SVG.
 *
 * The chart is drawn at the width it gets on the page (redrawn when that changes), so
 * its text keeps the theme's font sizes instead of growing and shrinking with the
 * drawing; `options.width` fixes the width instead. Ticks come from ticks.ts: distinct
 * labels for any range, and a log axis (marked "log") when positive values span decades.
 *
 * Example: `container.appendChild(lineChart([{name: 'accuracy', points}], {title: 'accuracy'}))`
 */
export function lineChart(series: ISeries[], options: IChartOptions = {}): SVGSVGElement {
  const root = svg('svg', { class: 'jp-mlops-chart', role: 'img' });
  let drawn = options.width ?? 320;
  drawLineChart(root, series, options, drawn);
  if (options.width === undefined && typeof ResizeObserver !== 'undefined') {
    new ResizeObserver(() => {
      const width = Math.round(root.getBoundingClientRect().width);
      if (width > 80 && Math.abs(width - drawn) > 1) {
        drawn = width;
        drawLineChart(root, series, options, width);
      }
    }).observe(root);
  }
  return root;
}

function drawLineChart(
  root: SVGSVGElement,
  series: ISeries[],
  options: IChartOptions,
  width: number
): void {
  while (root.firstChild) {
    root.removeChild(root.firstChild);
  }
  const height = options.height ?? 160;
  const title = options.title ?? series.map(s => s.name).join(', ');
  root.setAttribute('viewBox', `0 0 ${width} ${height}`);
  const drawable = series.map(s => s.points.filter(isDrawable));
  const all = drawable.flat();
  const summary = series
    .map((s, i) => {
      const points = drawable[i];
      const last = points[points.length - 1];
      const count =
        s.logged === undefined
          ? `${points.length} points`
          : `${formatCount(s.logged)} points, downsampled to ${formatCount(s.points.length)}`;
      return `${s.name}: ${count}${last ? `, last ${formatNumber(last[1])}` : ''}`;
    })
    .join('; ');
  root.setAttribute('aria-label', title ? `${title}. ${summary}` : summary);
  root.appendChild(svg('title', {}, title || summary));

  const xs = all.map(p => p[0]);
  const ys = all.map(p => p[1]);
  const xScale = axisTicks(Math.min(...xs), Math.max(...xs), {
    count: 5,
    log: false,
    whole: xs.every(Number.isInteger)
  });
  const yScale = axisTicks(Math.min(...ys), Math.max(...ys), { count: 4 });
  const longest = Math.max(3, ...yScale.labels.map(label => label.length));
  const margin = {
    top: title || yScale.log ? 20 : 8,
    right: 12,
    bottom: 30,
    left: Math.round(longest * CHAR_WIDTH + 10)
  };

  if (title) {
    root.appendChild(svg('text', { class: 'jp-mlops-chart-title', x: margin.left, y: 13 }, title));
  }
  if (options.note) {
    const note = svg(
      'text',
      { class: 'jp-mlops-chart-note', x: width - margin.right, y: 13, 'text-anchor': 'end' },
      options.note
    );
    if (options.noteTitle) {
      note.appendChild(svg('title', {}, options.noteTitle));
    }
    root.appendChild(note);
  }
  if (all.length === 0) {
    root.appendChild(
      svg(
        'text',
        { class: 'jp-mlops-chart-empty', x: width / 2, y: height / 2, 'text-anchor': 'middle' },
        'No finite values to draw'
      )
    );
    return;
  }
  if (yScale.log) {
    const scale = svg('text', { class: 'jp-mlops-chart-scale', x: 2, y: 13 }, 'log');
    scale.appendChild(svg('title', {}, 'A log scale: each tick is ten times the one below.'));
    root.appendChild(scale);
  }

  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const toX = (x: number) => margin.left + tickPosition(xScale, x) * plotWidth;
  const toY = (y: number) => margin.top + plotHeight - tickPosition(yScale, y) * plotHeight;
  const round = (v: number) => Math.round(v * 10) / 10;

  const axes = svg('g', { class: 'jp-mlops-chart-axes' });
  yScale.values.forEach((tick, index) => {
    const y = round(toY(tick));
    axes.appendChild(
      svg('line', {
        class: 'jp-mlops-chart-grid',
        x1: margin.left,
        x2: width - margin.right,
        y1: y,
        y2: y
      })
    );
    axes.appendChild(
      svg(
        'text',
        {
          class: 'jp-mlops-chart-tick jp-mlops-chart-ytick',
          x: margin.left - 4,
          y: y + 3,
          'text-anchor': 'end'
        },
        yScale.labels[index]
      )
    );
  });
  xScale.values.forEach((tick, index) => {
    const x = round(toX(tick));
    axes.appendChild(
      svg('line', {
        class: 'jp-mlops-chart-axis',
        x1: x,
        x2: x,
        y1: margin.top + plotHeight,
        y2: margin.top + plotHeight + 4
      })
    );
    axes.appendChild(
      svg(
        'text',
        {
          class: 'jp-mlops-chart-tick jp-mlops-chart-xtick',
          x,
          y: margin.top + plotHeight + 15,
          'text-anchor': 'middle'
        },
        xScale.labels[index]
      )
    );
  });
  axes.appendChild(
    svg('line', {
      class: 'jp-mlops-chart-axis',
      x1: margin.left,
      x2: width - margin.right,
      y1: margin.top + plotHeight,
      y2: margin.top + plotHeight
    })
  );
  axes.appendChild(
    svg(
      'text',
      {
        class: 'jp-mlops-chart-label',
        x: width - margin.right,
        y: height - 2,
        'text-anchor': 'end'
      },
      options.xLabel ?? 'step'
    )
  );
  root.appendChild(axes);
  series.forEach((one, index) => {
    const group = svg('g', { class: 'jp-mlops-chart-series', 'data-series': index % 6 });
    const commands: string[] = [];
    let penDown = false;
    for (const point of one.points) {
      if (!isDrawable(point)) {
        penDown = false; // a gap in the data is a gap in the line
        continue;
      }
      commands.push(`${penDown ? 'L' : 'M'}${round(toX(point[0]))},${round(toY(point[1]))}`);
      penDown = true;
    }
    group.appendChild(svg('path', { class: 'jp-mlops-chart-line', d: commands.join('') }));
    const points = drawable[index];
    if (points.length <= MAX_DOTS) {
      for (const [x, y] of points) {
        const dot = svg('circle', {
          class: 'jp-mlops-chart-dot',
          cx: round(toX(x)),
          cy: round(toY(y)),
          r: 2.5
        });
        dot.appendChild(
          svg('title', {}, `${one.name} at ${options.xName ?? 'step'} ${x}: ${formatNumber(y)}`)
        );
        group.appendChild(dot);
      }
    }
    root.appendChild(group);
  });

  if (series.length > 1) {
    const legend = svg('g', { class: 'jp-mlops-chart-legend' });
    series.forEach((one, index) => {
      const x = margin.left + 8 + index * 90;
      const item = svg('g', { 'data-series': index % 6 });
      item.appendChild(
        svg('line', {
          class: 'jp-mlops-chart-line',
          x1: x,
          x2: x + 14,
          y1: margin.top + 6,
          y2: margin.top + 6
        })
      );
      item.appendChild(
        svg('text', { class: 'jp-mlops-chart-tick', x: x + 18, y: margin.top + 9 }, one.name)
      );
      legend.appendChild(item);
    });
    root.appendChild(legend);
  }
}
