/**
 * Runs side by side, drawn from `GET api/runs compare?runs=ID,ID`: the parameters that
 * differ (all of them on request) in a table with one column per run, each run's last
 * metric values, and each metric's curves overlaid on one chart, one line per run.
 */
import { lineChart } from '../chart';
import { badge, button, h, section, table } from '../dom';
import { formatNumber, formatScalar, shortId } from '../format';
import type { IComparison, IRunSummary } from '../types';

/** How each run is named in headers and legends: its name, with its id when two share one. */
export function runLabels(runs: IRunSummary[]): Map<string, string> {
  const counts = new Map<string, number>();
  for (const run of runs) {
    counts.set(run.name, (counts.get(run.name) ?? 0) + 1);
  }
  return new Map(
    runs.map(run => [
      run.id,
      !run.name
        ? run.id
        : (counts.get(run.name) ?? 0) > 1
          ? `${run.name} ${shortId(run.id, 6)}`
          : run.name
    ])
  );
}

/** The compare view of `comparison`; `showAll` lists the parameters that agree too. */
export function renderComparison(
  comparison: IComparison,
  openRun: (runId: string) => void,
  showAll: boolean,
  setShowAll: (showAll: boolean) => void
): HTMLElement {
  const runs = comparison.runs;
  const labels = runLabels(runs);
  const runHeader = (run: IRunSummary) =>
    h(
      'span',
      { className: 'jp-mlops-compare-run', attrs: { 'data-run-id': run.id } },
      button(labels.get(run.id) ?? run.id, () => openRun(run.id), {
        className: 'jp-mlops-link',
        title: `Show run ${run.name} (${run.id})`
      }),
      ' ',
      badge(run.status)
    );

  const differing = comparison.params.filter(p => p.differs);
  const same = comparison.params.length - differing.length;
  const shown = showAll ? comparison.params : differing;
  const toggle = h('input', {
    className: 'jp-mlops-compare-all',
    attrs: { type: 'checkbox' },
    on: { change: () => setShowAll(toggle.checked) }
  });
  toggle.checked = showAll;
  const paramRows = shown.map(param =>
    h(
      'tr',
      {
        attrs: { 'data-param': param.key },
        className: param.differs ? 'jp-mlops-differs-row' : ''
      },
      h('th', { attrs: { scope: 'row' } }, param.key),
      ...param.values.map(value =>
        h('td', { className: param.differs ? 'jp-mlops-differs' : '' }, formatScalar(value))
      )
    )
  );
  const params = section(
    `Parameters that differ (${differing.length} of ${comparison.params.length})`,
    true,
    same
      ? h(
          'label',
          { className: 'jp-mlops-toolbar-row' },
          toggle,
          `Show the ${same} that are the same too`
        )
      : null,
    shown.length
      ? h(
          'table',
          { className: 'jp-mlops-table jp-mlops-compare-table jp-mlops-compare-params' },
          h(
            'thead',
            null,
            h(
              'tr',
              null,
              h('th', null, 'Parameter'),
              ...runs.map(run => h('th', { className: 'jp-mlops-compare-run' }, runHeader(run)))
            )
          ),
          h('tbody', null, ...paramRows)
        )
      : h(
          'p',
          { className: 'jp-mlops-note' },
          comparison.params.length
            ? 'Every parameter has the same value in these runs.'
            : 'These runs recorded no parameters.'
        )
  );

  const metrics = section(
    `Metrics (${comparison.metrics.length})`,
    true,
    comparison.metrics.length
      ? table(
          ['Metric', ...runs.map(runHeader)],
          comparison.metrics.map(metric => [metric.key, ...metric.values.map(formatNumber)]),
          { className: 'jp-mlops-compare-table jp-mlops-compare-metrics' }
        )
      : h('p', { className: 'jp-mlops-note' }, 'These runs logged no metrics.')
  );

  const charts = comparison.curves.map(curve => {
    const downsampled = curve.runs.some(run => run.logged !== null);
    return h(
      'figure',
      { className: 'jp-mlops-figure', attrs: { 'data-metric': curve.key } },
      lineChart(
        curve.runs.map(run => ({
          name: labels.get(run.id) ?? run.id,
          points: run.points,
          ...(run.logged !== null ? { logged: run.logged } : {})
        })),
        {
          // One line has no legend: the title names its run.
          title:
            curve.runs.length === 1
              ? `${curve.key}: ${labels.get(curve.runs[0].id) ?? curve.runs[0].id} only`
              : curve.key,
          ...(downsampled ? { note: 'downsampled' } : {}),
          ...(downsampled
            ? {
                noteTitle:
                  'Long curves show the lowest and highest value of each step range;' +
                  ' mlops.metrics(run, key) gives every point.'
              }
            : {})
        }
      )
    );
  });
  const curves = section(
    `Curves (${charts.length})`,
    true,
    charts.length
      ? h('div', { className: 'jp-mlops-charts' }, ...charts)
      : h('p', { className: 'jp-mlops-note' }, 'None of these runs logged a metric more than once.')
  );

  return h(
    'div',
    { className: 'jp-mlops-compare', attrs: { 'data-runs': runs.map(r => r.id).join(',') } },
    h('h2', { className: 'jp-mlops-run-name' }, `Comparing ${runs.length} runs`),
    h(
      'div',
      { className: 'jp-mlops-compare-runs' },
      ...runs.map(run => runHeader(run)).flatMap((node, i) => (i ? [' · ', node] : [node]))
    ),
    params,
    metrics,
    curves
  );
}
