/**
 * A drift report's charts in SVG, drawn like the notebook's drift view: each column's
 * distribution in the reference and the current data (overlaid histograms on the report's
 * shared bins for numbers and dates, paired bars for categories), and every column's
 * effect against the report's threshold, coloured by its decision.
 *
 * `distributionChart('amount', column.chart)`, `effectChart(report.columns, 0.1)`
 */
import { svg } from './chart';
import { formatNumber } from './format';
import { axisTicks, tickPosition } from './ticks';
import type { IDriftColumn, IDriftColumnChart } from './types';

const SIDES: [keyof Pick<IDriftColumnChart, 'reference' | 'current'>, string][] = [
  ['reference', 'reference'],
  ['current', 'current']
];
const MAX_BARS = 24;
const MAX_EFFECT_ROWS = 30;

function opening(width: number, height: number, label: string, className: string): SVGSVGElement {
  const root = svg('svg', {
    class: `jp-mlops-chart jp-mlops-drift-chart ${className}`,
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: 'img',
    'aria-label': label
  });
  root.appendChild(svg('title', {}, label));
  return root;
}

function dateLabel(seconds: number): string {
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime()) ? formatNumber(seconds) : date.toISOString().slice(0, 10);
}

/** Whether a column's chart has something to draw. */
export function drawable(chart: IDriftColumnChart | null | undefined): chart is IDriftColumnChart {
  if (!chart) {
    return false;
  }
  const count = chart.reference.length;
  return (
    count > 0 &&
    chart.current.length === count &&
    ((chart.bins.length === count + 1 && chart.bins.every(Number.isFinite)) ||
      chart.labels.length === count)
  );
}

function legend(root: SVGSVGElement, x: number, y: number): void {
  SIDES.forEach(([side, words], index) => {
    const left = x + index * 84;
    root.appendChild(
      svg('rect', {
        class: `jp-mlops-drift-${side}`,
        x: left,
        y: y - 8,
        width: 10,
        height: 8
      })
    );
    root.appendChild(svg('text', { class: 'jp-mlops-chart-label', x: left + 14, y }, words));
  });
}

/** The share axis on the left: ticks from 0 to the highest share. */
function shareAxis(
  root: SVGSVGElement,
  peak: number,
  left: number,
  right: number,
  top: number,
  plotHeight: number
): (share: number) => number {
  const ticks = axisTicks(0, peak, { count: 3, log: false, outward: true });
  const y = (share: number) => top + plotHeight - tickPosition(ticks, share) * plotHeight;
  ticks.values.forEach((value, index) => {
    root.appendChild(
      svg('line', { class: 'jp-mlops-chart-grid', x1: left, x2: right, y1: y(value), y2: y(value) })
    );
    root.appendChild(
      svg(
        'text',
        {
          class: 'jp-mlops-chart-tick jp-mlops-chart-ytick',
          x: left - 4,
          y: y(value) + 3,
          'text-anchor': 'end'
        },
        ticks.labels[index]
      )
    );
  });
  return y;
}

/**
 * One column's reference and current distributions: a histogram on shared bins
 * (numbers, dates) or paired bars (categories).
 */
export function distributionChart(
  column: string,
  chart: IDriftColumnChart,
  width = 300,
  height = 150
): SVGSVGElement {
  const root = opening(
    width,
    height,
    `${column}: reference and current`,
    'jp-mlops-drift-distribution'
  );
  const [left, right, top, bottom] = [40, 8, 8, 36];
  const plotWidth = width - left - right;
  const plotHeight = height - top - bottom;
  const finite = (values: number[]) => values.filter(Number.isFinite);
  const peak = Math.max(0, ...finite(chart.reference), ...finite(chart.current)) || 1;
  const y = shareAxis(root, peak, left, width - right, top, plotHeight);
  const base = top + plotHeight;
  if (chart.bins.length === chart.reference.length + 1) {
    let [low, high] = [chart.bins[0], chart.bins[chart.bins.length - 1]];
    if (high <= low) {
      [low, high] = [low - (Math.abs(low) * 0.05 || 0.5), high + (Math.abs(high) * 0.05 || 0.5)];
    }
    const x = (value: number) => left + ((value - low) / (high - low)) * plotWidth;
    const edges =
      chart.bins[0] < chart.bins[chart.bins.length - 1]
        ? chart.bins
        : chart.bins.map((_, i) => low + ((high - low) * i) / (chart.bins.length - 1));
    for (const [side, words] of SIDES) {
      const outline: string[] = [];
      chart[side].forEach((share, i) => {
        if (!Number.isFinite(share)) {
          return;
        }
        const [a, b] = [x(edges[i]), x(edges[i + 1])];
        const bar = svg('rect', {
          class: `jp-mlops-drift-${side}`,
          x: a.toFixed(1),
          y: y(share).toFixed(1),
          width: Math.max(b - a, 0.5).toFixed(1),
          height: (base - y(share)).toFixed(1)
        });
        bar.appendChild(svg('title', {}, `${words}: ${formatNumber(share)}`));
        root.appendChild(bar);
        outline.push(
          `${a.toFixed(1)},${y(share).toFixed(1)} ${b.toFixed(1)},${y(share).toFixed(1)}`
        );
      });
      root.appendChild(
        svg('polyline', { class: `jp-mlops-drift-outline-${side}`, points: outline.join(' ') })
      );
    }
    const ticks = axisTicks(low, high, { count: 4, log: false, outward: false });
    let previous = '';
    ticks.values.forEach((value, index) => {
      const label = chart.kind === 'datetime' ? dateLabel(value) : ticks.labels[index];
      root.appendChild(
        svg(
          'text',
          {
            class: 'jp-mlops-chart-tick jp-mlops-chart-xtick',
            x: x(value).toFixed(1),
            y: base + 13,
            'text-anchor': 'middle'
          },
          label === previous ? '' : label // dates of ticks within one day: the day once
        )
      );
      previous = label;
    });
  } else {
    const count = Math.min(chart.labels.length, MAX_BARS);
    const slot = plotWidth / Math.max(count, 1);
    const bar = (slot * 0.8) / 2;
    SIDES.forEach(([side, words], g) => {
      chart[side].slice(0, count).forEach((share, i) => {
        if (!Number.isFinite(share)) {
          return;
        }
        const rect = svg('rect', {
          class: `jp-mlops-drift-${side} jp-mlops-drift-bar`,
          x: (left + i * slot + slot * 0.1 + g * bar).toFixed(1),
          y: y(share).toFixed(1),
          width: bar.toFixed(1),
          height: (base - y(share)).toFixed(1)
        });
        rect.appendChild(svg('title', {}, `${words} ${chart.labels[i]}: ${formatNumber(share)}`));
        root.appendChild(rect);
      });
    });
    const every = Math.max(1, Math.ceil(count / Math.max(Math.floor(plotWidth / 40), 1)));
    for (let i = 0; i < count; i += every) {
      root.appendChild(
        svg(
          'text',
          {
            class: 'jp-mlops-chart-tick jp-mlops-chart-xtick',
            x: (left + (i + 0.5) * slot).toFixed(1),
            y: base + 13,
            'text-anchor': 'middle'
          },
          chart.labels[i].slice(0, 8)
        )
      );
    }
  }
  legend(root, left, height - 4);
  return root;
}

/**
 * Every column's effect as a bar against the report's threshold (a dashed line), most
 * severe first, each bar coloured by the column's decision.
 */
export function effectChart(
  columns: IDriftColumn[],
  threshold: number | null,
  width = 300
): SVGSVGElement {
  const rows = columns.slice(0, MAX_EFFECT_ROWS);
  const [left, right, top, bottom, rowHeight] = [96, 12, 6, 30, 16];
  const height = top + rows.length * rowHeight + bottom;
  const root = opening(
    width,
    height,
    `Effect of each column${threshold === null ? '' : ` against the threshold ${threshold}`}`,
    'jp-mlops-drift-effects'
  );
  const effects = rows
    .map(c => c.effect)
    .filter((v): v is number => v !== null && Number.isFinite(v));
  const peak = Math.max(threshold ?? 0, ...effects) || 1;
  const ticks = axisTicks(0, peak, { count: 4, log: false, outward: true });
  const plotWidth = width - left - right;
  const x = (value: number) => left + tickPosition(ticks, value) * plotWidth;
  const base = top + rows.length * rowHeight;
  ticks.values.forEach((value, index) => {
    root.appendChild(
      svg('line', { class: 'jp-mlops-chart-grid', x1: x(value), x2: x(value), y1: top, y2: base })
    );
    root.appendChild(
      svg(
        'text',
        {
          class: 'jp-mlops-chart-tick jp-mlops-chart-xtick',
          x: x(value).toFixed(1),
          y: base + 12,
          'text-anchor': 'middle'
        },
        ticks.labels[index]
      )
    );
  });
  rows.forEach((column, index) => {
    const y = top + index * rowHeight;
    const name = column.column.length > 15 ? `${column.column.slice(0, 14)}…` : column.column;
    root.appendChild(
      svg(
        'text',
        { class: 'jp-mlops-chart-label', x: left - 4, y: y + 11, 'text-anchor': 'end' },
        name
      )
    );
    if (column.effect === null || !Number.isFinite(column.effect)) {
      return;
    }
    const bar = svg('rect', {
      class: 'jp-mlops-effect-bar',
      'data-state': column.decision ?? column.verdict,
      'data-column': column.column,
      x: left,
      y: y + 3,
      width: Math.max(x(column.effect) - left, 1).toFixed(1),
      height: rowHeight - 6
    });
    bar.appendChild(
      svg(
        'title',
        {},
        `${column.column}: ${column.effect_name ? `${column.effect_name} ` : 'effect '}` +
          `${formatNumber(column.effect)}, ${column.decision ?? column.verdict}`
      )
    );
    root.appendChild(bar);
  });
  if (threshold !== null) {
    const at = x(threshold).toFixed(1);
    root.appendChild(
      svg('line', { class: 'jp-mlops-effect-threshold', x1: at, x2: at, y1: top - 2, y2: base })
    );
    root.appendChild(
      svg(
        'text',
        { class: 'jp-mlops-chart-label', x: at, y: height - 3, 'text-anchor': 'middle' },
        `threshold ${formatNumber(threshold)}`
      )
    );
  }
  return root;
}
