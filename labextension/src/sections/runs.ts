/**
 * The Runs section: the runs of one experiment as a table the server sorts,
 * filters and pages; a click on a run shows its details.
 */
import { ApiError, requestAPI } from '../api';
import { badge, button, Child, h, notice, replaceChildren } from '../dom';
import {
  formatCount,
  formatDuration,
  formatNumber,
  formatScalar,
  formatTime,
  parseTime
} from '../format';
import type { IExperiment, IExperiments, IRunDetail, IRunsPage, IRunSummary } from '../types';
import { renderRunDetail } from './run_detail';
import { errorNotice, ISectionHost, requestOptional, Section } from './section';

/** At most this many parameter and metric columns; the rest are in the run's details. */
const MAX_PARAM_COLUMNS = 4;
const MAX_METRIC_COLUMNS = 4;
const PAGE_SIZES = [25, 50, 100, 200];
const DEFAULT_SORT = '-started_at';

const NO_RUNS = {
  text: 'No runs recorded yet',
  hint: 'In a notebook: %load_ext jupyter_mlops, then start a cell with %%mlops run NAME.'
};

interface IColumn {
  label: string;
  /** The server's sort key: name, status, started_at, duration, params.K, metrics.K. */
  sortKey: string;
  className: string;
  cell(run: IRunSummary): Child;
}

export class RunsSection extends Section {
  private experiment: string | null = null;
  private where = '';
  private sort = DEFAULT_SORT;
  private page = 1;
  private pageSize = 50;
  private selectedRunId: string | null = null;

  private readonly toolbar: HTMLElement;
  private readonly experimentPicker: HTMLSelectElement;
  private readonly whereInput: HTMLInputElement;

  constructor(host: ISectionHost) {
    super('runs', 'Runs', host);
    this.experimentPicker = h('select', {
      className: 'jp-mlops-experiment',
      title: 'Experiment',
      attrs: { 'aria-label': 'Experiment' },
      on: {
        change: () => {
          this.experiment = this.experimentPicker.value;
          this.page = 1;
          void this.load();
        }
      }
    });
    this.whereInput = h('input', {
      className: 'jp-mlops-where',
      title: 'Filter runs: a where expression, applied with Enter',
      attrs: {
        type: 'search',
        placeholder: 'where, e.g. metrics.accuracy > 0.9',
        'aria-label': 'Filter runs (where)',
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
          if (this.whereInput.value === '' && this.where !== '') {
            this.applyWhere();
          }
        }
      }
    });
    this.toolbar = h(
      'div',
      { className: 'jp-mlops-toolbar' },
      this.experimentPicker,
      this.whereInput,
      button('Filter', () => this.applyWhere(), { title: 'Apply the where filter' })
    );
    this.node.insertBefore(this.toolbar, this.content);
  }

  /** Show one run's details (from a click here, or from another section). */
  showRun(runId: string): void {
    this.selectedRunId = runId;
    void this.load();
  }

  private applyWhere(): void {
    this.where = this.whereInput.value.trim();
    this.page = 1;
    void this.load();
  }

  private setSort(key: string): void {
    // A first click sorts ascending, a second one descending, and so on.
    this.sort = this.sort === key ? `-${key}` : key;
    this.page = 1;
    void this.load();
  }

  protected async render(): Promise<Node> {
    if (this.selectedRunId !== null) {
      const runId = this.selectedRunId;
      const back = () => {
        this.selectedRunId = null;
        void this.load();
      };
      try {
        const detail = await requestAPI<IRunDetail>(`runs/${encodeURIComponent(runId)}`);
        return renderRunDetail(detail, this.host, { back, openRun: id => this.showRun(id) });
      } catch (error) {
        return h(
          'div',
          { className: 'jp-mlops-run-detail' },
          button('‹ All runs', back, { className: 'jp-mlops-back' }),
          errorNotice(error, `run ${runId}`)
        );
      }
    }
    const listed = await requestOptional<IExperiments>('experiments');
    const experiments = listed?.experiments ?? [];
    if (experiments.length === 0) {
      this.experimentPicker.hidden = true;
      return this.empty(NO_RUNS);
    }
    this.experimentPicker.hidden = false;
    this.pickExperiment(experiments);

    let page: IRunsPage | null;
    try {
      page = await requestOptional<IRunsPage>('runs', {
        experiment: this.experiment,
        where: this.where,
        sort: this.sort,
        page: this.page,
        page_size: this.pageSize
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
    if (page.runs.length === 0 && page.total === 0) {
      return this.where
        ? notice(
            'empty',
            `No runs of ${this.experiment} match: ${this.where}`,
            'Change or clear the filter.'
          )
        : this.empty(NO_RUNS);
    }
    return this.renderTable(page);
  }

  /** The filter and experiment controls belong to the list, not to a run's details. */
  protected onShown(content: Node): void {
    this.toolbar.hidden = (content as HTMLElement).classList.contains('jp-mlops-run-detail');
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
      this.page = 1;
    }
    replaceChildren(
      this.experimentPicker,
      ...experiments.map(e =>
        h('option', { attrs: { value: e.name } }, `${e.name} (${formatCount(e.runs)})`)
      )
    );
    this.experimentPicker.value = this.experiment;
  }

  private columns(page: IRunsPage): IColumn[] {
    const params = page.columns.params.slice(0, MAX_PARAM_COLUMNS);
    const metrics = page.columns.metrics.slice(0, MAX_METRIC_COLUMNS);
    return [
      {
        label: 'Status',
        sortKey: 'status',
        className: 'jp-mlops-col-status',
        cell: run => badge(run.status)
      },
      {
        label: 'Name',
        sortKey: 'name',
        className: 'jp-mlops-col-name',
        cell: run => run.name || run.id
      },
      ...params.map(key => ({
        label: key,
        sortKey: `params.${key}`,
        className: 'jp-mlops-col-param',
        cell: (run: IRunSummary) => formatScalar(run.params[key])
      })),
      ...metrics.map(key => ({
        label: key,
        sortKey: `metrics.${key}`,
        className: 'jp-mlops-col-metric',
        cell: (run: IRunSummary) => formatNumber(run.metrics[key])
      })),
      {
        label: 'Started',
        sortKey: 'started_at',
        className: 'jp-mlops-col-time',
        cell: run => formatTime(run.started_at)
      },
      {
        label: 'Duration',
        sortKey: 'duration',
        className: 'jp-mlops-col-duration',
        cell: run => formatDuration(run.duration)
      }
    ];
  }

  private renderTable(page: IRunsPage): Node {
    const columns = this.columns(page);
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
          attrs: { 'aria-sort': direction, 'data-sort-key': column.sortKey }
        },
        button(`${column.label}${arrow}`, () => this.setSort(column.sortKey), {
          className: 'jp-mlops-sort',
          title: `Sort by ${column.label}`
        })
      );
    });
    const rows = page.runs.map(run =>
      h(
        'tr',
        {
          className: 'jp-mlops-run-row',
          title: `Run ${run.id}: show details`,
          attrs: { tabindex: '0', 'data-run-id': run.id },
          on: {
            click: () => this.showRun(run.id),
            keydown: event => {
              if (event.key === 'Enter') {
                this.showRun(run.id);
              }
            }
          }
        },
        ...columns.map(column => h('td', { className: column.className }, column.cell(run)))
      )
    );
    const hiddenParams = page.columns.params.length - MAX_PARAM_COLUMNS;
    const hiddenMetrics = page.columns.metrics.length - MAX_METRIC_COLUMNS;
    const more = [
      hiddenParams > 0 ? `${hiddenParams} more params` : '',
      hiddenMetrics > 0 ? `${hiddenMetrics} more metrics` : ''
    ].filter(Boolean);
    return h(
      'div',
      null,
      h(
        'div',
        { className: 'jp-mlops-table-scroll' },
        h(
          'table',
          { className: 'jp-mlops-table jp-mlops-runs-table' },
          h('thead', null, h('tr', null, ...headers)),
          h('tbody', null, ...rows)
        )
      ),
      more.length
        ? h('p', { className: 'jp-mlops-note' }, `${more.join(' and ')} in each run's details.`)
        : null,
      this.renderPager(page)
    );
  }

  private renderPager(page: IRunsPage): Node {
    const pages = Math.max(1, Math.ceil(page.total / page.page_size));
    const first = page.total === 0 ? 0 : (page.page - 1) * page.page_size + 1;
    const last = Math.min(page.total, first + page.runs.length - 1);
    const goTo = (target: number) => {
      this.page = target;
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
            this.page = 1;
            void this.load();
          }
        }
      },
      ...PAGE_SIZES.map(size => h('option', { attrs: { value: String(size) } }, `${size} per page`))
    );
    sizePicker.value = String(this.pageSize);
    const previous = button('‹ Previous', () => goTo(page.page - 1), {
      className: 'jp-mlops-page-previous'
    });
    previous.disabled = page.page <= 1;
    const next = button('Next ›', () => goTo(page.page + 1), { className: 'jp-mlops-page-next' });
    next.disabled = page.page >= pages;
    return h(
      'div',
      { className: 'jp-mlops-pager' },
      h(
        'span',
        { className: 'jp-mlops-pager-range' },
        `${formatCount(first)}–${formatCount(last)} of ${formatCount(page.total)} runs · page ${formatCount(page.page)} of ${formatCount(pages)}`
      ),
      previous,
      next,
      sizePicker
    );
  }
}
