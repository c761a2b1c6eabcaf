/**
 * The children of parent runs in the Runs table: which parents are expanded, their
 * children read from `GET api/runs?parent=ID` (sorted like the table, more of them
 * read with the page's `next_cursor`), and the bits of a row that say a run has some.
 */
import { requestAPI } from '../api';
import { button, h } from '../dom';
import { formatCount } from '../format';
import type { IRunsPage, IRunSummary } from '../types';

/** Children read at first, and each time the user asks for more. */
export const CHILD_PAGE_SIZE = 50;
/** The most the server sends in one page. */
const MAX_PAGE_SIZE = 500;

/** The children of one parent read so far. */
export interface IChildren {
  runs: IRunSummary[];
  total: number;
  /** Where the next ones start, or null when every child is read. */
  nextCursor: string | null;
  /** The page's parameter and metric keys. */
  columns: { params: string[]; metrics: string[] };
}

/** "1 child", "12 children". */
export function childCount(count: number): string {
  return count === 1 ? '1 child' : `${formatCount(count)} children`;
}

/** The badge a parent's name carries: how many children it has. */
export function childBadge(run: IRunSummary): HTMLElement | null {
  if (!run.children) {
    return null;
  }
  return h(
    'span',
    {
      className: 'jp-mlops-children-badge',
      title: `${run.name || run.id} has ${childCount(run.children)}`
    },
    childCount(run.children)
  );
}

/**
 * Which parents are expanded and how many of their children are shown, kept across
 * reloads of the table (a registry change redraws it with the same parents open).
 */
export class ExpandedParents {
  private readonly shown = new Map<string, number>();

  has(runId: string): boolean {
    return this.shown.has(runId);
  }

  toggle(runId: string): void {
    if (this.shown.has(runId)) {
      this.shown.delete(runId);
    } else {
      this.shown.set(runId, CHILD_PAGE_SIZE);
    }
  }

  /** Note that `count` children of `runId` are on screen (after "Show more"). */
  showing(runId: string, count: number): void {
    if (this.shown.has(runId)) {
      this.shown.set(runId, Math.max(CHILD_PAGE_SIZE, count));
    }
  }

  /** Read the children of every expanded parent of `runs`, by parent id. */
  async load(runs: IRunSummary[], sort: string): Promise<Map<string, IChildren>> {
    const parents = runs.filter(run => run.children && this.shown.has(run.id));
    const loaded = await Promise.all(
      parents.map(run =>
        loadChildren(
          run.id,
          sort,
          Math.min(this.shown.get(run.id) ?? CHILD_PAGE_SIZE, MAX_PAGE_SIZE)
        )
      )
    );
    return new Map(parents.map((run, i): [string, IChildren] => [run.id, loaded[i]]));
  }
}

/** Read `pageSize` children of `parentId` sorted by `sort`, after `cursor` when given. */
export async function loadChildren(
  parentId: string,
  sort: string,
  pageSize: number = CHILD_PAGE_SIZE,
  cursor: string | null = null
): Promise<IChildren> {
  const page = await requestAPI<IRunsPage>('runs', {
    parent: parentId,
    sort,
    page_size: pageSize,
    after: cursor
  });
  return {
    runs: page.runs,
    total: page.total,
    nextCursor: page.next_cursor ?? null,
    columns: page.columns
  };
}

/**
 * An expanded parent's child rows (`row` draws one), then a row that reads the next
 * ones from the page's cursor while some are left; `columns` is the table's width.
 */
export function childRows(
  parent: IRunSummary,
  listed: IChildren,
  columns: number,
  row: (child: IRunSummary) => Node,
  sort: string,
  expanded: ExpandedParents
): Node[] {
  const rows: Node[] = listed.runs.map(row);
  const left = listed.total - listed.runs.length;
  if (left <= 0 || listed.nextCursor === null) {
    return rows;
  }
  const more = button(
    `Show ${formatCount(Math.min(left, CHILD_PAGE_SIZE))} more of ${childCount(listed.total)}`,
    async () => {
      more.disabled = true;
      try {
        const next = await loadChildren(parent.id, sort, CHILD_PAGE_SIZE, listed.nextCursor);
        const grown: IChildren = { ...next, runs: [...listed.runs, ...next.runs] };
        expanded.showing(parent.id, grown.runs.length);
        moreRow.replaceWith(
          ...childRows(parent, grown, columns, row, sort, expanded).slice(listed.runs.length)
        );
      } catch (error) {
        more.disabled = false;
        more.title = `Could not read more children: ${String(error)}`;
      }
    },
    { className: 'jp-mlops-link jp-mlops-children-more' }
  );
  const moreRow = h(
    'tr',
    { className: 'jp-mlops-child-more-row', attrs: { 'data-parent-id': parent.id } },
    h('td', { attrs: { colspan: String(columns) } }, more)
  );
  rows.push(moreRow);
  return rows;
}
