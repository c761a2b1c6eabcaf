/**
 * One run's details: summary, metric curves, parameters, code, environment,
 * data snapshots and tags, drawn from `GET api/runs/ID`.
 */
import { lineChart } from '../chart';
import { badge, button, h, section, table } from '../dom';
import {
  formatCount,
  formatDuration,
  formatNumber,
  formatScalar,
  formatTime,
  MISSING,
  shortId
} from '../format';
import type { IRunDetail } from '../types';
import { ISectionHost } from './section';

export interface IRunDetailActions {
  /** Go back to the list of runs. */
  back(): void;
  /** Show another run (the previous run of this one). */
  openRun(runId: string): void;
}

/** A button whose label says "Copied" for a moment after it copied `text`. */
function copyButton(
  host: ISectionHost,
  text: string,
  label: string,
  title: string
): HTMLButtonElement {
  const copy = button(
    label,
    () => {
      host.copyText(text);
      copy.textContent = 'Copied';
      window.setTimeout(() => (copy.textContent = label), 1500);
    },
    { className: 'jp-mlops-copy', title }
  );
  return copy;
}

function field(label: string, ...value: (Node | string)[]): HTMLElement[] {
  return [h('dt', null, label), h('dd', null, ...value)];
}

export function renderRunDetail(
  detail: IRunDetail,
  host: ISectionHost,
  actions: IRunDetailActions
): HTMLElement {
  const run = detail.run;
  const header = h(
    'div',
    { className: 'jp-mlops-run-header' },
    button('‹ All runs', () => actions.back(), {
      className: 'jp-mlops-back',
      title: 'Back to the runs'
    }),
    h('h3', { className: 'jp-mlops-run-name' }, run.name || run.id),
    badge(run.status)
  );

  const idLine = h(
    'div',
    { className: 'jp-mlops-run-id-line' },
    h('code', { className: 'jp-mlops-run-id', title: 'Run id' }, run.id),
    copyButton(host, run.id, 'Copy id', 'Copy the run id to the clipboard'),
    run.notebook_path
      ? button('Open notebook', () => host.openPath(run.notebook_path as string), {
          className: 'jp-mlops-open-notebook',
          title: `Open ${run.notebook_path}`
        })
      : null
  );

  const summary = h(
    'dl',
    { className: 'jp-mlops-fields' },
    ...field('Experiment', run.experiment),
    ...field('Started', formatTime(run.started_at)),
    ...field('Ended', formatTime(run.ended_at)),
    ...field('Duration', formatDuration(run.duration)),
    ...field('Notebook', run.notebook_path ?? MISSING),
    ...field(
      'Git',
      run.git_commit
        ? `${shortId(run.git_commit, 10)}${run.git_dirty ? ' (uncommitted changes)' : ''}`
        : MISSING
    ),
    ...field(
      'Previous run',
      run.previous_run_id
        ? button(
            shortId(run.previous_run_id),
            () => actions.openRun(run.previous_run_id as string),
            {
              className: 'jp-mlops-link jp-mlops-previous-run',
              title: `Show run ${run.previous_run_id}`
            }
          )
        : MISSING
    )
  );

  const error = run.error
    ? h(
        'div',
        { className: 'jp-mlops-run-error', attrs: { role: 'alert' } },
        h('pre', null, run.error)
      )
    : null;

  const charts = Object.entries(detail.series)
    .filter(([, points]) => points.length > 1)
    .map(([key, points]) =>
      h(
        'figure',
        { className: 'jp-mlops-figure', attrs: { 'data-metric': key } },
        lineChart([{ name: key, points }], { title: key })
      )
    );
  const metrics = section(
    `Metrics (${detail.metrics.length})`,
    true,
    detail.metrics.length === 0
      ? h('p', { className: 'jp-mlops-note' }, 'No metrics logged.')
      : table(
          ['Metric', 'Last', 'Min', 'Max', 'Points', 'Last step'],
          detail.metrics.map(m => [
            m.key,
            formatNumber(m.last),
            formatNumber(m.min),
            formatNumber(m.max),
            String(m.count),
            m.last_step === null ? MISSING : String(m.last_step)
          ]),
          { className: 'jp-mlops-metrics-table' }
        ),
    charts.length ? h('div', { className: 'jp-mlops-charts' }, ...charts) : null
  );

  const params = section(
    `Parameters (${detail.params.length})`,
    true,
    detail.params.length === 0
      ? h('p', { className: 'jp-mlops-note' }, 'No parameters recorded.')
      : table(
          ['Parameter', 'Value', 'Type', 'Source'],
          detail.params.map(p => [p.key, formatScalar(p.value), p.type, p.source]),
          { className: 'jp-mlops-params-table' }
        )
  );

  const code = section(
    `Code (${detail.code.length} cells)`,
    false,
    ...detail.code.map(cell =>
      h(
        'div',
        { className: 'jp-mlops-code-cell' },
        h(
          'div',
          { className: 'jp-mlops-code-prompt' },
          cell.execution_count === null ? 'In [ ]:' : `In [${cell.execution_count}]:`
        ),
        h('pre', { className: 'jp-mlops-code-source' }, cell.source)
      )
    )
  );

  const environment = detail.environment;
  const packages = environment
    ? Object.entries(environment.packages).sort(([a], [b]) => a.localeCompare(b))
    : [];
  const env = section(
    'Environment',
    false,
    environment
      ? h(
          'div',
          null,
          h(
            'dl',
            { className: 'jp-mlops-fields' },
            ...field('Python', environment.python),
            ...field('Platform', environment.platform)
          ),
          table(
            ['Package', 'Version'],
            packages.map(([name, version]) => [name, version]),
            {
              className: 'jp-mlops-packages-table'
            }
          )
        )
      : h('p', { className: 'jp-mlops-note' }, 'No environment recorded.')
  );

  const snapshots = section(
    `Data snapshots (${detail.snapshots.length})`,
    detail.snapshots.length > 0,
    detail.snapshots.length === 0
      ? h('p', { className: 'jp-mlops-note' }, 'This run read no recorded snapshot.')
      : table(
          ['Name', 'Role', 'Fingerprint', 'Rows × columns'],
          detail.snapshots.map(s => [
            s.name,
            s.role,
            h('code', { title: s.fingerprint }, shortId(s.fingerprint, 12)),
            `${formatCount(s.n_rows)} × ${formatCount(s.n_columns)}`
          ]),
          { className: 'jp-mlops-snapshots-table' }
        )
  );

  const tagEntries = Object.entries(detail.tags);
  const tags = tagEntries.length
    ? section(
        `Tags (${tagEntries.length})`,
        true,
        table(
          ['Tag', 'Value'],
          tagEntries.map(([key, value]) => [key, formatScalar(value)])
        )
      )
    : null;

  return h(
    'div',
    { className: 'jp-mlops-run-detail', attrs: { 'data-run-id': run.id } },
    header,
    idLine,
    error,
    summary,
    metrics,
    params,
    code,
    env,
    snapshots,
    tags
  );
}
