/**
 * The Runs section: the runs of one experiment as a table the server sorts, filters
 * and pages. Columns that do not fit the sidebar's width give way, least important
 * first (CSS container queries on `data-rank`); the sort picker reaches every
 * parameter and metric whatever the width. A click on a run opens its page in the
 * main area. Child runs (a sweep's trials) are grouped under their parent: the table
 * lists runs without a parent, each parent with its number of children, and a parent
 * expands to list them (see run_children.ts); *Every run, flat* lists them all.
 * Pipeline step runs are children of their pipeline run, grouped the same way. The
 * parameter and metric columns are those the server says (see columns.ts): chosen for
 * the experiment, else the parameters that differ and every metric; sort names are the
 * server's own (`-metrics.auc`, `params.lr`, `started_at`), as in the notebook and CLI.
 * Above the table: the experiment's note (experiment_note.ts); checkboxes in the first
 * column select runs to compare (run_selection.ts); a toggle lists the archived runs
 * (archived_runs.ts).
 */
import { ApiError } from '../api';
import { button, Child, h, notice, replaceChildren, stateDot } from '../dom';
import {
  formatCount,
  formatDuration,
  formatNumber,
  formatScalar,
  formatShortTime,
  formatTime,
  parseTime
} from '../format';
import type { IExperiment, IExperiments, IRunsPage, IRunSummary } from '../types';
import { ArchivedRuns } from './archived_runs';
import { ExperimentNoteView } from './experiment_note';
import { childBadge, childCount, childRows, ExpandedParents, IChildren } from './run_children';
import { ColumnChooser, paramCells, shownColumns } from './columns';
import { RunSelection } from './run_selection';
import { ISectionHost, requestOptional, Section } from './section';

/**
 * Ranks of the parameter and metric columns, in order (see base.css, data-rank): at the
 * sidebar's default width the first metric and the first parameter that tells the runs
 * apart show beside the name (and the metric the runs are sorted by, rank 0); the next
 * parameter joins them from 270 px.
 */
const PARAM_RANKS = [1, 2, 4, 5, 7, 8, 9, 10];
const METRIC_RANKS = [1, 3, 6, 8, 9, 10];
const PAGE_SIZES = [25, 50, 100, 200];
const DEFAULT_SORT = '-started_at';

const FIELDS: { key: string; label: string }[] = [
  { key: 'started_at', label: 'started_at' },
  { key: 'name', label: 'name' },
  { key: 'status', label: 'status' },
  { key: 'duration', label: 'duration' }
];

/** The filter box searches code and notes when its text starts with this. */
const CODE_PREFIX = 'code:';

/**
 * Read the filter box: `code: RandomForest` searches the runs' code and notes (the
 * server's `code`), anything else is a where expression.
 */
export function readFilter(text: string): { where: string; code: string } {
  const trimmed = text.trim();
  if (trimmed.toLowerCase().startsWith(CODE_PREFIX)) {
    return { where: '', code: trimmed.slice(CODE_PREFIX.length).trim() };
  }
  return { where: trimmed, code: '' };
}

const NO_RUNS = {
  text: 'No runs recorded yet',
  hint: 'In a notebook: %load_ext jupyter_mlops, then start a cell with %%mlops run NAME.'
};

interface IColumn {
  label: string;
  /** Shown in the header instead of the label (which stays for screen readers). */
  short?: string;
  /** The server's sort key: name, status, started_at, duration, params.K, metrics.K. */
  sortKey: string;
  className: string;
  /** 0: always shown; higher ranks give way first when the sidebar is narrow. */
  rank: number;
  /** An estimator's folded parameters: the header unfolds them instead of sorting. */
  fold?: string;
  /** The first column of an unfolded estimator: its header also folds it again. */
  folds?: string;
  /** The parameters a folded column shows, named under their estimator. */
  keys?: string[];
  cell(run: IRunSummary): Child;
}

/** The route's cursor a page was read from: after one page, or before one. */
interface IPageCursor {
  after?: string | null;
  before?: string | null;
}

/** Split `-metrics.accuracy` into its key and direction. */
function parseSort(sort: string): { key: string; descending: boolean } {
  return sort.startsWith('-')
    ? { key: sort.slice(1), descending: true }
    : { key: sort, descending: false };
}

export class RunsSection extends Section {
  private experiment: string | null = null;
  private where = '';
  private code = '';
  private sort = DEFAULT_SORT;
  private page = 1;
  private pageSize = 50;
  /** Where the page starts, when it was reached with Next or Previous. */
  private cursor: IPageCursor = {};
  /** List every run, children too, instead of parents with their children folded. */
  private flat = false;
  private readonly expanded = new ExpandedParents();
  /** Estimators whose parameters are shown one per column. */
  private readonly unfolded = new Set<string>();
  private readonly chooser = new ColumnChooser(() => void this.load());

  private readonly toolbar: HTMLElement;
  private readonly experimentPicker: HTMLSelectElement;
  private readonly whereInput: HTMLInputElement;
  private readonly sortPicker: HTMLSelectElement;
  private readonly sortDirection: HTMLButtonElement;
  private readonly flatToggle: HTMLInputElement;
  private readonly experimentNote: ExperimentNoteView;
  private readonly selection: RunSelection;
  private readonly archived: ArchivedRuns;

  constructor(host: ISectionHost) {
    super('runs', 'Runs', host);
    this.experimentNote = new ExperimentNoteView(() => host.refresh());
    this.selection = new RunSelection(runIds => host.compareRuns(runIds));
    this.archived = new ArchivedRuns(
      () => {
        this.setPage(1);
        void this.load();
      },
      () => host.refresh()
    );
    this.experimentPicker = h('select', {
      className: 'jp-mlops-experiment',
      title: 'Experiment',
      attrs: { 'aria-label': 'Experiment' },
      on: {
        change: () => {
          this.experiment = this.experimentPicker.value;
          this.setPage(1);
          void this.load();
        }
      }
    });
    this.whereInput = h('input', {
      className: 'jp-mlops-where',
      title:
        'Filter runs, applied with Enter: a where expression (accuracy > 0.9),' +
        " or code: and words to find in the runs' code and notes (code: RandomForest)",
      attrs: {
        type: 'search',
        placeholder: 'accuracy > 0.9, or code: RandomForest',
        'aria-label': 'Filter runs (where, or code: to search code and notes)',
        spellcheck: 'false'
      },
      on: {
        keydown: event => {
          if (event.key === 'Enter') {
            this.applyWhere();
          }
        },
        input: () => {
          // Emptying the box (or its clear button) drops the filter at once.
          if (this.whereInput.value === '' && (this.where !== '' || this.code !== '')) {
            this.applyWhere();
          }
        }
      }
    });
    this.sortPicker = h('select', {
      className: 'jp-mlops-sort-key',
      title: 'Sort the runs by',
      attrs: { 'aria-label': 'Sort by' },
      on: {
        change: () => {
          const { descending } = parseSort(this.sort);
          this.setSort(`${descending ? '-' : ''}${this.sortPicker.value}`);
        }
      }
    });
    this.sortDirection = button(
      '',
      () => {
        const { key, descending } = parseSort(this.sort);
        this.setSort(descending ? key : `-${key}`);
      },
      { className: 'jp-mlops-sort-direction' }
    );
    this.flatToggle = h('input', {
      className: 'jp-mlops-flat',
      attrs: { type: 'checkbox' },
      on: {
        change: () => {
          this.flat = this.flatToggle.checked;
          this.setPage(1);
          void this.load();
        }
      }
    });
    this.toolbar = h(
      'div',
      { className: 'jp-mlops-toolbar' },
      this.experimentPicker,
      h(
        'div',
        { className: 'jp-mlops-toolbar-row' },
        this.whereInput,
        button('Filter', () => this.applyWhere(), { title: 'Apply the filter' })
      ),
      h(
        'div',
        { className: 'jp-mlops-toolbar-row' },
        h('span', { className: 'jp-mlops-toolbar-label' }, 'Sort by'),
        this.sortPicker,
        this.sortDirection
      ),
      h(
        'label',
        {
          className: 'jp-mlops-toolbar-row jp-mlops-flat-label',
          title:
            'List child runs (the trials of a sweep) among the others, instead of under their parent'
        },
        this.flatToggle,
        'Every run, flat (children too)'
      ),
      this.archived.toggle,
      this.experimentNote.node,
      this.archived.status,
      this.selection.bar,
      this.chooser.node
    );
    this.node.insertBefore(this.toolbar, this.content);
    this.node.classList.add('jp-mlops-adaptive');
    this.showSort();
  }

  private setPage(page: number, cursor: IPageCursor = {}): void {
    this.page = page;
    this.cursor = cursor;
  }

  private applyWhere(): void {
    ({ where: this.where, code: this.code } = readFilter(this.whereInput.value));
    this.setPage(1);
    void this.load();
  }

  private setSort(sort: string): void {
    this.sort = sort;
    this.setPage(1);
    void this.load();
  }

  /** A header click sorts ascending, a second one descending, and so on. */
  private toggleSort(key: string): void {
    this.setSort(this.sort === key ? `-${key}` : key);
  }

  protected async render(retried = false): Promise<Node> {
    const listed = await requestOptional<IExperiments>('experiments');
    const experiments = listed?.experiments ?? [];
    if (experiments.length === 0) {
      this.toolbar.hidden = true;
      return this.empty(NO_RUNS);
    }
    this.toolbar.hidden = false;
    this.pickExperiment(experiments);
    void this.experimentNote.show(this.experiment as string);

    let page: IRunsPage | null;
    try {
      page = await requestOptional<IRunsPage>('runs', {
        experiment: this.experiment,
        where: this.where,
        code: this.code,
        sort: this.sort,
        page: this.page,
        page_size: this.pageSize,
        after: this.cursor.after,
        before: this.cursor.before,
        top_level: this.flat ? undefined : 'true',
        archived: this.archived.query
      });
    } catch (error) {
      if (error instanceof ApiError && error.status === 400) {
        return notice('error', error.message, error.hint); // e.g. a where that does not parse
      }
      throw error;
    }
    if (page === null) {
      return this.empty(NO_RUNS);
    }
    if (page.runs.length === 0 && page.total > 0 && this.page > 1 && !retried) {
      // Fewer runs than before (a filter, a deletion): show the last page there is.
      this.setPage(Math.max(1, Math.ceil(page.total / page.page_size)));
      return this.render(true);
    }
    if (page.sort) {
      this.sort = page.sort; // as the server names it: -metrics.auc for -auc
    }
    this.chooser.update(this.experiment, page);
    this.showSort(page);
    if (page.runs.length === 0) {
      if (this.archived.shown) {
        return notice(
          'empty',
          `No archived runs of ${this.experiment}`,
          'Archive a run from its page.'
        );
      }
      if (this.code) {
        return notice(
          'empty',
          `No run of ${this.experiment} has code or a note containing: ${this.code}`,
          'Each word is looked for as a piece of the recorded cells or the note, ignoring' +
            ' case: try a shorter piece (RandomForest, not RandomForest()) or fewer words.'
        );
      }
      return this.where
        ? notice(
            'empty',
            `No runs of ${this.experiment} match: ${this.where}`,
            'Change or clear the filter.'
          )
        : this.empty(NO_RUNS);
    }
    const children = this.flat ? new Map() : await this.expanded.load(page.runs, this.sort);
    return this.renderTable(page, children);
  }

  /** Keep the chosen experiment; else pick the one that ran most recently. */
  private pickExperiment(experiments: IExperiment[]): void {
    const names = experiments.map(e => e.name);
    if (this.experiment === null || !names.includes(this.experiment)) {
      const newest = [...experiments].sort(
        (a, b) =>
          (parseTime(b.last_started_at)?.getTime() ?? 0) -
          (parseTime(a.last_started_at)?.getTime() ?? 0)
      )[0];
      this.experiment = newest.name;
      this.setPage(1);
    }
    replaceChildren(
      this.experimentPicker,
      ...experiments.map(e =>
        h('option', { attrs: { value: e.name } }, `${e.name} (${formatCount(e.runs)})`)
      )
    );
    this.experimentPicker.value = this.experiment;
  }

  /** The sort picker: the run fields, then every metric and parameter of the page,
   * each by its sort name (`metrics.auc`, `params.lr`). */
  private showSort(page?: IRunsPage): void {
    const { key, descending } = parseSort(this.sort);
    const columns = page?.columns;
    const available = (columns as { available?: string[] } | undefined)?.available ?? [
      ...(columns?.metrics ?? []).map(m => `metrics.${m}`),
      ...(columns?.params ?? []).map(p => `params.${p}`)
    ];
    const valueKeys = [
      ...available.filter(name => name.startsWith('metrics.')),
      ...available.filter(name => name.startsWith('params.'))
    ];
    const options = [...FIELDS, ...valueKeys.map(name => ({ key: name, label: name }))];
    if (!options.some(option => option.key === key)) {
      options.push({ key, label: key });
    }
    replaceChildren(
      this.sortPicker,
      ...options.map(option => h('option', { attrs: { value: option.key } }, option.label))
    );
    this.sortPicker.value = key;
    this.sortDirection.textContent = descending ? '▼ high first' : '▲ low first';
    this.sortDirection.title = descending
      ? 'Descending; click for ascending'
      : 'Ascending; click for descending';
  }

  private columns(page: IRunsPage, children: Map<string, IChildren>): IColumn[] {
    const { key: sortKey } = parseSort(this.sort);
    // The page's columns first, then those only the children shown have (a sweep's parameters).
    const shown = shownColumns([page, ...children.values()]);
    const metricColumn = (key: string, rank: number): IColumn => ({
      label: key,
      sortKey: `metrics.${key}`,
      className: 'jp-mlops-col-metric',
      rank,
      cell: run => formatNumber(run.metrics[key])
    });
    const paramColumn = (key: string, rank: number): IColumn => ({
      label: key,
      sortKey: `params.${key}`,
      className: 'jp-mlops-col-param',
      rank,
      cell: run => formatScalar(run.params[key])
    });
    const cells = paramCells(shown.params, shown.groups, this.unfolded);
    const ranked: IColumn[] = [];
    // The column sorted by shows anyway (rank 0): the others of its kind move down a place.
    const rankOf = (ranks: number[], i: number, kind: string) =>
      ranks[Math.min(i + (sortKey.startsWith(kind) ? 1 : 0), ranks.length - 1)];
    shown.metrics
      .filter(key => `metrics.${key}` !== sortKey)
      .forEach((key, i) => ranked.push(metricColumn(key, rankOf(METRIC_RANKS, i, 'metrics.'))));
    cells.forEach((cell, i) => {
      const rank = rankOf(PARAM_RANKS, i, 'params.');
      const group = cell.group;
      if (group === null) {
        ranked.push({ ...paramColumn(cell.title, rank), folds: cell.folds });
        return;
      }
      const prefix = group.name.length + 1;
      ranked.push({
        label: cell.title,
        sortKey: `group:${group.name}`,
        className: 'jp-mlops-col-param jp-mlops-col-group',
        rank,
        fold: group.name,
        // The header names the parameters under the estimator; each cell their values,
        // in the same order, each parameter's name=value in its tooltip.
        keys: cell.keys.map(key => key.slice(prefix)),
        cell: run =>
          h(
            'span',
            {
              title: cell.keys
                .filter(key => key in run.params)
                .map(key => `${key.slice(prefix)}=${formatScalar(run.params[key])}`)
                .join(', ')
            },
            cell.keys.map(key => formatScalar(run.params[key])).join(' · ')
          )
      });
    });
    // The column the runs are sorted by is always shown, next to the name.
    const sortedBy = sortKey.startsWith('metrics.')
      ? metricColumn(sortKey.slice('metrics.'.length), 0)
      : sortKey.startsWith('params.')
        ? paramColumn(sortKey.slice('params.'.length), 0)
        : null;
    const rest = ranked.filter(column => column.fold || column.sortKey !== sortedBy?.sortKey);
    return [
      {
        label: 'Status',
        short: '●',
        sortKey: 'status',
        className: 'jp-mlops-col-status',
        rank: 0,
        cell: run => stateDot(run.status)
      },
      {
        label: 'Name',
        sortKey: 'name',
        className: 'jp-mlops-col-name',
        rank: 0,
        cell: run => this.nameCell(run)
      },
      ...(sortedBy ? [sortedBy] : []),
      ...rest.filter(c => c.className === 'jp-mlops-col-metric'),
      ...rest.filter(c => c.className.startsWith('jp-mlops-col-param')),
      {
        label: 'Started',
        sortKey: 'started_at',
        className: 'jp-mlops-col-time',
        rank: 2,
        cell: run =>
          h('span', { title: formatTime(run.started_at) }, formatShortTime(run.started_at))
      },
      {
        label: 'Duration',
        sortKey: 'duration',
        className: 'jp-mlops-col-duration',
        rank: 4,
        cell: run => formatDuration(run.duration)
      }
    ];
  }

  /** The header of an estimator's folded parameters: unfolds them, one per column. */
  private foldButton(name: string, label: string): HTMLButtonElement {
    const open = this.unfolded.has(name);
    return button(
      `${open ? '▾' : '▸'} ${label}`,
      () => {
        if (open) {
          this.unfolded.delete(name);
        } else {
          this.unfolded.add(name);
        }
        void this.load();
      },
      {
        className: 'jp-mlops-sort jp-mlops-fold',
        title: `${open ? 'Fold' : 'Unfold'} the parameters of ${name}`,
        attrs: { 'aria-expanded': String(open), 'data-group': name }
      }
    );
  }

  /** The name, with a parent's expander and number of children. */
  private nameCell(run: IRunSummary): Child {
    const badge = childBadge(run);
    if (badge === null) {
      return run.name || run.id;
    }
    if (this.flat || run.parent_run_id) {
      return h('span', null, run.name || run.id, ' ', badge); // a child's children: on its page
    }
    const open = this.expanded.has(run.id);
    const expander = button(
      open ? '▾' : '▸',
      event => {
        event.stopPropagation(); // the row's own click opens the run's page
        this.expanded.toggle(run.id);
        void this.load();
      },
      {
        className: 'jp-mlops-expand',
        title: `${open ? 'Hide' : 'Show'} the ${childCount(run.children ?? 0)} of ${run.name || run.id}`,
        attrs: { 'aria-expanded': String(open) }
      }
    );
    expander.addEventListener('keydown', event => event.stopPropagation());
    return h(
      'span',
      { className: 'jp-mlops-parent-name' },
      expander,
      run.name || run.id,
      ' ',
      badge
    );
  }

  private runRow(run: IRunSummary, columns: IColumn[], parentId: string | null = null): Node {
    return h(
      'tr',
      {
        className: parentId ? 'jp-mlops-run-row jp-mlops-child-row' : 'jp-mlops-run-row',
        title: `${run.name}: open the run's page`,
        attrs: {
          tabindex: '0',
          'data-run-id': run.id,
          ...(parentId ? { 'data-parent-id': parentId } : {}),
          ...(run.children ? { 'data-children': String(run.children) } : {})
        },
        on: {
          click: () => this.host.openRun(run.id),
          keydown: event => {
            if (event.key === 'Enter') {
              this.host.openRun(run.id);
            }
          }
        }
      },
      ...columns.map(column =>
        h(
          'td',
          { className: column.className, attrs: { 'data-rank': String(column.rank) } },
          column.cell(run)
        )
      )
    );
  }

  private renderTable(page: IRunsPage, children: Map<string, IChildren>): Node {
    const columns = this.columns(page, children);
    const headers = columns.map(column => {
      const direction =
        this.sort === column.sortKey
          ? 'ascending'
          : this.sort === `-${column.sortKey}`
            ? 'descending'
            : 'none';
      const arrow = direction === 'ascending' ? ' ▲' : direction === 'descending' ? ' ▼' : '';
      return h(
        'th',
        {
          className: column.className,
          attrs: {
            'aria-sort': direction,
            'data-sort-key': column.sortKey,
            'data-rank': String(column.rank)
          }
        },
        column.fold
          ? h(
              'span',
              { className: 'jp-mlops-group-head' },
              this.foldButton(column.fold, column.label),
              h(
                'span',
                { className: 'jp-mlops-group-keys', title: (column.keys ?? []).join(' · ') },
                ...(column.keys ?? []).map(key => h('span', null, key))
              )
            )
          : column.folds
            ? this.foldButton(column.folds, column.folds)
            : null,
        column.fold
          ? null
          : button(
              column.short
                ? h(
                    'span',
                    null,
                    h('span', { attrs: { 'aria-hidden': 'true' } }, `${column.short}${arrow}`),
                    h('span', { className: 'jp-mlops-sr-only' }, column.label)
                  )
                : `${column.label}${arrow}`,
              () => this.toggleSort(column.sortKey),
              { className: 'jp-mlops-sort', title: `Sort by ${column.label}` }
            )
      );
    });
    const rows = page.runs.flatMap(run => {
      const listed = children.get(run.id);
      const childRow = (child: IRunSummary) => this.runRow(child, columns, run.id);
      return [
        this.runRow(run, columns),
        ...(listed
          ? childRows(run, listed, columns.length, childRow, this.sort, this.expanded)
          : [])
      ];
    });
    const table = h(
      'table',
      { className: 'jp-mlops-table jp-mlops-runs-table' },
      h('thead', null, h('tr', null, ...headers)),
      h('tbody', null, ...rows)
    );
    this.selection.decorate(table);
    this.archived.decorate(table);
    return h(
      'div',
      null,
      h('div', { className: 'jp-mlops-table-scroll' }, table),
      this.renderPager(page)
    );
  }

  private renderPager(page: IRunsPage): Node {
    const pages = Math.max(1, Math.ceil(page.total / page.page_size));
    const first = page.total === 0 ? 0 : (page.page - 1) * page.page_size + 1;
    const last = Math.min(page.total, first + page.runs.length - 1);
    // The next or previous page is read from this page's cursor (as fast however deep);
    // the first page, a new sort, filter or size from the start.
    const goTo = (target: number, cursor: IPageCursor) => {
      this.setPage(target, target === 1 ? {} : cursor);
      void this.load();
    };
    const sizePicker = h(
      'select',
      {
        className: 'jp-mlops-page-size',
        title: 'Runs per page',
        attrs: { 'aria-label': 'Runs per page' },
        on: {
          change: () => {
            this.pageSize = Number(sizePicker.value);
            this.setPage(1);
            void this.load();
          }
        }
      },
      ...PAGE_SIZES.map(size => h('option', { attrs: { value: String(size) } }, `${size} per page`))
    );
    sizePicker.value = String(this.pageSize);
    const previous = button(
      '‹ Previous',
      () => goTo(page.page - 1, { before: page.previous_cursor }),
      {
        className: 'jp-mlops-page-previous'
      }
    );
    previous.disabled = page.page <= 1;
    const next = button('Next ›', () => goTo(page.page + 1, { after: page.next_cursor }), {
      className: 'jp-mlops-page-next'
    });
    next.disabled = page.page >= pages;
    return h(
      'div',
      { className: 'jp-mlops-pager' },
      h(
        'span',
        { className: 'jp-mlops-pager-range' },
        `${formatCount(first)}–${formatCount(last)} of ${formatCount(page.total)} runs · page ${formatCount(page.page)} of ${formatCount(pages)}`
      ),
      h('span', { className: 'jp-mlops-pager-buttons' }, previous, next, sizePicker)
    );
  }
}
