/**
 * One run's details: summary, metric curves, parameters, code, environment, data
 * snapshots, tags, the model versions it became and its gate verdicts, drawn from
 * `GET api/runs/ID` into a main-area tab (see ../run_view.ts). Its note and the
 * housekeeping controls come from run_actions.ts.
 */
import { lineChart } from '../chart';
import { badge, button, Child, h, section, stateToken, table } from '../dom';
import { runExport } from '../export';
import {
  formatCount,
  formatDuration,
  formatNumber,
  formatScalar,
  formatTime,
  MISSING,
  shortId
} from '../format';
import type { IClosure, IGateEvaluation, IGroupTable, IReproduction, IRunDetail } from '../types';
import { renderMarkdown } from '../markdown';
import { renderArtifacts } from './artifacts';
import { ReproduceControl } from './reproduce';
import { RunActions } from './run_actions';
import { ISweepChoice, ISweepLoad, renderSweep } from './sweep';

/** What a run's page can do in JupyterLab. */
export interface IRunDetailActions {
  /** Open a file by its path relative to the server root. */
  openPath(path: string): void;
  /** Put text on the clipboard. */
  copyText(text: string): void;
  /** Show another run (the previous run of this one, its parent, a child). */
  openRun(runId: string): void;
}

/** A parent run's sweep as loaded, what the user picked, and how to pick again. */
export interface IRunSweep {
  loaded: ISweepLoad;
  choice: ISweepChoice;
  /** Draw the sweep again for a new choice (a new metric loads it again). */
  choose(choice: ISweepChoice): void;
}

/** A button whose label says "Copied" for a moment after it copied `text`. */
function copyButton(
  actions: IRunDetailActions,
  text: string,
  label: string,
  title: string
): HTMLButtonElement {
  const copy = button(
    label,
    () => {
      actions.copyText(text);
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

/** What a run's closure holds, in words. */
function closureText(closure: IClosure): string {
  const cells = closure.cells.length;
  let words = `${cells} earlier cell${cells === 1 ? '' : 's'}`;
  if (closure.files.length) {
    words += `, ${closure.files.length} file${closure.files.length === 1 ? '' : 's'}`;
    words += ` (${closure.files.map(f => f.path).join(', ')})`;
  }
  if (closure.unresolved.length) {
    words += `; bound by no earlier cell: ${closure.unresolved.join(', ')}`;
  }
  return words;
}

/** One reproduction of (or by) the run: its verdict as a badge, when, and the other run. */
function reproductionLine(
  reproduction: IReproduction,
  runId: string,
  actions: IRunDetailActions
): HTMLElement {
  const other =
    reproduction.original_run_id === runId ? reproduction.run_id : reproduction.original_run_id;
  return h(
    'div',
    { className: 'jp-mlops-reproduction', title: reproduction.summary },
    badge(stateToken(reproduction.status), reproduction.status.replace('_', ' ')),
    ` ${formatTime(reproduction.started_at)}, ${reproduction.environment} environment `,
    other
      ? button(shortId(other), () => actions.openRun(other), {
          className: 'jp-mlops-link',
          title:
            reproduction.original_run_id === runId
              ? `Show the reproduction, run ${other}`
              : `Show the run this one reproduces, ${other}`
        })
      : null,
    h('div', { className: 'jp-mlops-note' }, reproduction.summary)
  );
}

/** A note shown without its editor. */
function runNote(text: string): HTMLElement {
  const note = renderMarkdown(text);
  note.classList.add('jp-mlops-run-note');
  return note;
}

/** A gate evaluation as one line: verdict, what and when, and its rules below. */
export function renderEvaluation(evaluation: IGateEvaluation, runLink: Child): HTMLElement {
  const target =
    evaluation.model && evaluation.version
      ? `${evaluation.model}@${evaluation.version}${evaluation.alias ? ` → ${evaluation.alias}` : ''}`
      : (evaluation.model ?? 'no model');
  return h(
    'div',
    { className: 'jp-mlops-evaluation', attrs: { 'data-evaluation-id': evaluation.id } },
    h(
      'div',
      { className: 'jp-mlops-evaluation-header' },
      badge(evaluation.passed ? 'passed' : 'failed'),
      ` ${evaluation.purpose ?? 'check'} · ${target} · run `,
      runLink,
      ` · ${formatTime(evaluation.evaluated_at)}`
    ),
    table(
      ['Rule', 'Verdict', 'Actual', 'Expected', 'Detail'],
      evaluation.rules.map(rule => [
        h('code', null, rule.rule),
        badge(rule.passed ? 'passed' : 'failed'),
        formatScalar(rule.actual),
        formatScalar(rule.expected),
        rule.detail || ''
      ]),
      { className: 'jp-mlops-rules-table' }
    ),
    ...evaluation.rules.flatMap(rule => (rule.groups ?? []).map(groupTable))
  );
}

/** The rows and rates of each group behind a fairness rule's number. */
function groupTable(groups: IGroupTable): HTMLElement {
  return h(
    'div',
    { className: 'jp-mlops-group-table' },
    h('div', null, h('code', null, groups.of), ` by ${groups.column}`),
    table(
      [groups.column, 'rows', ...groups.metrics],
      groups.groups.map((group, index) => [
        group,
        formatCount(groups.counts[index]),
        ...groups.values[index].map(value => (value === null ? 'n/a' : formatNumber(value)))
      ])
    )
  );
}

/**
 * The page of one run. `exportStatus` is where an export reports its outcome: the
 * caller keeps it across redraws, so a reload does not wipe what the user just did.
 * `sweep` is the sweep of a run with children, drawn below its metrics. `manage`
 * (kept by the caller too) shows the note with its editor and the housekeeping controls;
 * without it the note is only shown. `reproduce` (kept by the caller too) is the
 * Reproduce button with what the last reproduction said, shown below the run's fields.
 */
export function renderRunDetail(
  detail: IRunDetail,
  actions: IRunDetailActions,
  exportStatus: HTMLElement = h('div'),
  sweep: IRunSweep | null = null,
  manage: RunActions | null = null,
  reproduce: ReproduceControl | null = null
): HTMLElement {
  const run = detail.run;
  const labPath = run.notebook_lab_path ?? null;
  exportStatus.classList.add('jp-mlops-export-status');
  const header = h(
    'div',
    { className: 'jp-mlops-run-header' },
    h('h2', { className: 'jp-mlops-run-name' }, run.name || run.id),
    badge(run.status),
    run.archived_at
      ? h(
          'span',
          {
            className: 'jp-mlops-archived-badge',
            title: `Archived ${formatTime(run.archived_at)}: hidden from the lists until restored`
          },
          'archived'
        )
      : null
  );

  const actionsLine = h(
    'div',
    { className: 'jp-mlops-run-id-line' },
    h('code', { className: 'jp-mlops-run-id', title: 'Run id' }, run.id),
    copyButton(actions, run.id, 'Copy id', 'Copy the run id to the clipboard'),
    labPath
      ? button('Open notebook', () => actions.openPath(labPath), {
          className: 'jp-mlops-open-notebook',
          title: `Open ${labPath}`
        })
      : null,
    labPath
      ? button(
          'Export to pipeline',
          async event => {
            const trigger = event.currentTarget as HTMLButtonElement;
            trigger.disabled = true;
            try {
              await runExport(labPath, exportStatus, actions.openPath);
            } finally {
              trigger.disabled = false;
            }
          },
          {
            className: 'jp-mlops-export',
            title: `Export ${labPath} to a pipeline folder beside it`
          }
        )
      : null
  );

  const summary = h(
    'dl',
    { className: 'jp-mlops-fields' },
    ...field('Experiment', run.experiment),
    ...field('Started', formatTime(run.started_at)),
    ...field('Ended', formatTime(run.ended_at)),
    ...field('Duration', formatDuration(run.duration)),
    ...field(
      'Notebook',
      labPath ?? run.notebook_path ?? MISSING,
      run.notebook_path && !labPath ? ' (outside the folder JupyterLab serves)' : ''
    ),
    ...field(
      'Git',
      run.git_commit
        ? `${shortId(run.git_commit, 10)}${run.git_branch ? ` on ${run.git_branch}` : ''}` +
            `${run.git_dirty ? ' (uncommitted changes)' : ''}`
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
    ),
    ...(run.parent_run_id
      ? field(
          'Parent run',
          button(shortId(run.parent_run_id), () => actions.openRun(run.parent_run_id as string), {
            className: 'jp-mlops-link jp-mlops-parent-run',
            title: `Show run ${run.parent_run_id}`
          })
        )
      : []),
    ...(run.children ? field('Child runs', formatCount(run.children)) : []),
    ...(detail.closure ? field('Depended on', closureText(detail.closure)) : []),
    ...(detail.reproductions && detail.reproductions.length
      ? field('Reproduced', ...detail.reproductions.map(r => reproductionLine(r, run.id, actions)))
      : []),
    ...field(
      'Registered as',
      detail.models && detail.models.length
        ? detail.models
            .map(
              v => `${v.model}@${v.version}${v.aliases.length ? ` (${v.aliases.join(', ')})` : ''}`
            )
            .join(', ')
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

  const downsampled = new Set(detail.downsampled ?? []);
  const logged = new Map(detail.metrics.map(m => [m.key, m.count]));
  const charts = Object.entries(detail.series)
    .filter(([, points]) => points.length > 1)
    .map(([key, points]) => {
      if (!downsampled.has(key)) {
        return h(
          'figure',
          { className: 'jp-mlops-figure', attrs: { 'data-metric': key } },
          lineChart([{ name: key, points }], { title: key })
        );
      }
      const count = logged.get(key) ?? points.length;
      return h(
        'figure',
        { className: 'jp-mlops-figure', attrs: { 'data-metric': key, 'data-downsampled': '' } },
        lineChart([{ name: key, points, logged: count }], {
          title: key,
          note: `downsampled: ${formatCount(points.length)} of ${formatCount(count)} points`,
          noteTitle:
            'Each step range shows its lowest and highest value, so spikes stay visible;' +
            ' mlops.metrics(run, key) gives every point.'
        })
      );
    });
  const metrics = section(
    `Metrics (${detail.metrics.length})`,
    true,
    charts.length ? h('div', { className: 'jp-mlops-charts' }, ...charts) : null,
    detail.metrics.length === 0
      ? h('p', { className: 'jp-mlops-note' }, 'No metrics logged.')
      : table(
          ['Metric', 'Last', 'Min', 'Max', 'Points', 'Last step'],
          detail.metrics.map(m => [
            m.key,
            formatNumber(m.last),
            formatNumber(m.min),
            formatNumber(m.max),
            formatCount(m.count),
            m.last_step === null ? MISSING : String(m.last_step)
          ]),
          { className: 'jp-mlops-metrics-table' }
        )
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

  const gates = detail.gates ?? [];
  const gatesSection = gates.length
    ? section(
        `Gate evaluations (${gates.length})`,
        true,
        ...gates.map(e => renderEvaluation(e, shortId(e.run_id)))
      )
    : null;

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
            { className: 'jp-mlops-packages-table' }
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
    actionsLine,
    exportStatus,
    error,
    summary,
    reproduce ? reproduce.node : null,
    manage ? manage.note.node : run.note ? runNote(run.note) : null,
    manage ? manage.status : null,
    manage ? manage.node : null,
    metrics,
    sweep ? renderSweep(sweep.loaded, sweep.choice, sweep.choose, actions.openRun) : null,
    params,
    gatesSection,
    code,
    env,
    snapshots,
    renderArtifacts(detail.artifacts),
    tags
  );
}
