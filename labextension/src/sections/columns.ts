/**
 * The columns of the Runs table, as the server chose them (`GET runs` → `columns`): the
 * columns chosen for the experiment, else the parameters that differ between the runs
 * and every metric, named as sorts name them (`params.lr`, `metrics.auc`). An
 * estimator's nested parameters (`gbm.max_depth`...) fold into one column, `gbm (21)`,
 * that its header unfolds. The column chooser writes the experiment's choice with
 * `PUT experiments/NAME/columns` (XSRF token added by JupyterLab), so the notebook's
 * table and `jupyter mlops runs` show the same columns.
 */
import { ServerConnection } from '@jupyterlab/services';

import { ApiError, apiUrl } from '../api';
import { button, h, replaceChildren } from '../dom';
import type { IRunsPage } from '../types';

/** An estimator's parameters: those shown, and every one the runs recorded. */
export interface IParamGroup {
  name: string;
  shown: string[];
  keys: string[];
}

/** What `GET runs` says of the table's columns (older servers send only params/metrics). */
export interface ITableColumns {
  params: string[];
  metrics: string[];
  shown?: string[];
  chosen?: boolean;
  available?: string[];
  groups?: IParamGroup[];
}

/** When the server does not say which columns to show: this many of each. */
const FALLBACK_PARAMS = 4;
const FALLBACK_METRICS = 4;

/** A parameter column: one parameter, or the folded parameters of an estimator. */
export interface IParamCell {
  /** `lr`, `gbm.max_depth`, or the group's title `gbm (21)`. */
  title: string;
  keys: string[];
  group: IParamGroup | null;
  /** The first column of an unfolded group: its header folds the group again. */
  folds?: string;
}

/** The columns the table shows, by name (`params.K`, `metrics.K`), merged from pages. */
export function shownColumns(pages: { columns: ITableColumns }[]): {
  params: string[];
  metrics: string[];
  groups: IParamGroup[];
} {
  const names: string[] = [];
  const groups = new Map<string, IParamGroup>();
  for (const { columns } of pages) {
    const shown = columns.shown ?? [
      ...columns.params.slice(0, FALLBACK_PARAMS).map(key => `params.${key}`),
      ...columns.metrics.slice(0, FALLBACK_METRICS).map(key => `metrics.${key}`)
    ];
    for (const name of shown) {
      if (!names.includes(name)) {
        names.push(name);
      }
    }
    for (const group of columns.groups ?? []) {
      const known = groups.get(group.name);
      groups.set(group.name, {
        name: group.name,
        shown: [...new Set([...(known?.shown ?? []), ...group.shown])],
        keys: [...new Set([...(known?.keys ?? []), ...group.keys])]
      });
    }
  }
  return {
    params: names.filter(n => n.startsWith('params.')).map(n => n.slice('params.'.length)),
    metrics: names.filter(n => n.startsWith('metrics.')).map(n => n.slice('metrics.'.length)),
    groups: [...groups.values()]
  };
}

/** The group parameter `key` belongs to, if any. */
export function groupOf(key: string, groups: IParamGroup[]): IParamGroup | null {
  return groups.find(group => key.startsWith(`${group.name}.`)) ?? null;
}

/**
 * The parameter columns in order: a group not in `unfolded` is one column whose cell
 * lists its shown parameters; an unfolded group shows each of its parameters.
 */
export function paramCells(
  params: string[],
  groups: IParamGroup[],
  unfolded: ReadonlySet<string>
): IParamCell[] {
  const cells: IParamCell[] = [];
  const placed = new Set<string>();
  for (const key of params) {
    const group = groupOf(key, groups);
    if (group === null) {
      cells.push({ title: key, keys: [key], group: null });
    } else if (!placed.has(group.name)) {
      placed.add(group.name);
      if (unfolded.has(group.name)) {
        cells.push(
          ...group.keys.map((member, i) => ({
            title: member,
            keys: [member],
            group: null,
            ...(i === 0 ? { folds: group.name } : {})
          }))
        );
      } else {
        cells.push({
          title: `${group.name} (${group.keys.length})`,
          keys: params.filter(k => k.startsWith(`${group.name}.`)),
          group
        });
      }
    }
  }
  return cells;
}

/** Write the columns chosen for `experiment` (null: back to the default ones). */
export async function saveColumns(experiment: string, names: string[] | null): Promise<void> {
  const settings = ServerConnection.makeSettings();
  const endpoint = `experiments/${encodeURIComponent(experiment)}/columns`;
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(
      apiUrl(endpoint, {}, settings),
      { method: 'PUT', body: JSON.stringify({ columns: names }) },
      settings
    );
  } catch (error) {
    throw new ApiError(0, `The Jupyter server could not be reached: ${String(error)}`);
  }
  if (!response.ok) {
    let body: any = null;
    try {
      body = await response.json();
    } catch {
      body = null;
    }
    throw new ApiError(
      response.status,
      typeof body?.message === 'string' ? body.message : `${response.status} from ${endpoint}`,
      typeof body?.hint === 'string' ? body.hint : null
    );
  }
}

/**
 * The *Columns* button and its list: a checkbox per parameter and metric the runs
 * have, in the order shown; *Default* forgets the choice. Each change is saved for the
 * experiment, then `changed()` redraws the table.
 */
export class ColumnChooser {
  readonly node: HTMLElement;
  private readonly toggle: HTMLButtonElement;
  private readonly list: HTMLElement;
  private readonly status: HTMLElement;
  private experiment: string | null = null;
  private shown: string[] = [];
  private available: string[] = [];

  constructor(private readonly changed: () => void) {
    this.list = h('div', {
      className: 'jp-mlops-column-list',
      attrs: { role: 'group', 'aria-label': 'Columns to show' }
    });
    this.list.hidden = true;
    this.status = h('span', { className: 'jp-mlops-column-status' });
    this.toggle = button('Columns', () => this.open(this.list.hidden), {
      className: 'jp-mlops-columns-button',
      title: 'Choose the parameter and metric columns of this experiment',
      attrs: { 'aria-expanded': 'false' }
    });
    this.node = h(
      'div',
      { className: 'jp-mlops-toolbar-row jp-mlops-columns' },
      this.toggle,
      this.status,
      this.list
    );
  }

  /** Show or hide the list. */
  open(show: boolean): void {
    this.list.hidden = !show;
    this.toggle.setAttribute('aria-expanded', String(show));
  }

  /** Take the columns of a page just drawn. */
  update(experiment: string | null, page: IRunsPage): void {
    const columns = page.columns as ITableColumns;
    this.experiment = experiment;
    this.shown = columns.shown ?? [];
    this.available = columns.available ?? [];
    this.status.textContent = columns.chosen ? 'chosen for this experiment' : 'default';
    this.node.hidden = this.available.length === 0 || experiment === null;
    const boxes = [
      ...this.shown.filter(name => this.available.includes(name)),
      ...this.available.filter(name => !this.shown.includes(name))
    ].map(name => {
      const box = h('input', {
        attrs: { type: 'checkbox', value: name, 'data-column': name },
        on: { change: () => void this.choose() }
      });
      box.checked = this.shown.includes(name);
      return h('label', { className: 'jp-mlops-column-choice' }, box, name);
    });
    const reset = button('Default', () => void this.save(null), {
      className: 'jp-mlops-columns-default',
      title: 'Show the parameters that differ and every metric'
    });
    reset.disabled = !columns.chosen;
    replaceChildren(this.list, ...boxes, reset);
  }

  private async choose(): Promise<void> {
    const checked = [...this.list.querySelectorAll<HTMLInputElement>('input[type=checkbox]')]
      .filter(box => box.checked)
      .map(box => box.value);
    // Kept in the order shown, new ones after; unticking every box goes back to the default.
    const names = [
      ...this.shown.filter(name => checked.includes(name)),
      ...checked.filter(name => !this.shown.includes(name))
    ];
    await this.save(names.length ? names : null);
  }

  private async save(names: string[] | null): Promise<void> {
    if (this.experiment === null) {
      return;
    }
    try {
      await saveColumns(this.experiment, names);
      this.changed();
    } catch (error) {
      this.status.textContent =
        error instanceof ApiError
          ? `${error.message}${error.hint ? ` ${error.hint}` : ''}`
          : String(error);
    }
  }
}
