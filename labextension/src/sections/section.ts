/**
 * What every section of the panel (Runs, Models, Snapshots, Drift, Pipelines) shares:
 * loading in the background without flicker, a newer load winning over an older
 * one, and the three states in words (loading, empty, error).
 */
import { ApiError, Query, requestAPI } from '../api';
import { h, notice, replaceChildren } from '../dom';

/** What the panel offers its sections: JupyterLab services and navigation. */
export interface ISectionHost {
  /** Open a file (a notebook) by its path relative to the server root. */
  openPath(path: string): void;
  /** Put text on the clipboard. */
  copyText(text: string): void;
  /** Open a run's page in the main area (or bring it to the front). */
  openRun(runId: string): void;
  /** Open the compare view of these runs in the main area. */
  compareRuns(runIds: string[]): void;
  /** Ask the registry for changes now (after a write), so every open view redraws. */
  refresh(): void;
  /** Show a drift report (by id) in the Drift section. */
  showDriftReport(reportId: string): void;
}

/** A section's own empty state: what is missing, and how to make some. */
export interface IEmptyState {
  text: string;
  hint: string;
}

/** GET a route; a 404 (that data does not exist yet) comes back as null. */
export async function requestOptional<T>(endpoint: string, query: Query = {}): Promise<T | null> {
  try {
    return await requestAPI<T>(endpoint, query);
  } catch (error) {
    if (error instanceof ApiError && error.isNotFound) {
      return null;
    }
    throw error;
  }
}

/** An error as a notice: the server's message and hint, or the error's text. */
export function errorNotice(error: unknown, what: string): HTMLElement {
  if (error instanceof ApiError) {
    return notice('error', `Could not load ${what}: ${error.message}`, error.hint);
  }
  return notice('error', `Could not load ${what}: ${String(error)}`);
}

export abstract class Section {
  /** The section's whole area; the panel shows it when its tab is selected. */
  readonly node: HTMLElement;
  /** The part of `node` that each load redraws (subclasses may put controls above it). */
  protected readonly content: HTMLElement;
  /** True when the registry changed since the last load (reload on next show). */
  stale = true;

  private ticket = 0;
  private hasContent = false;

  constructor(
    readonly id: string,
    readonly label: string,
    protected readonly host: ISectionHost
  ) {
    this.node = h('div', {
      className: `jp-mlops-section-body jp-mlops-${id}`,
      attrs: { role: 'tabpanel', 'aria-label': label }
    });
    this.content = h('div', { className: 'jp-mlops-content' });
    this.node.appendChild(this.content);
  }

  /**
   * Fetch and draw. The first load shows "Loading …"; later loads keep the old
   * content until the new one is ready. If loads overlap, the latest wins.
   */
  async load(): Promise<void> {
    const ticket = ++this.ticket;
    this.stale = false;
    if (!this.hasContent) {
      replaceChildren(this.content, notice('loading', `Loading ${this.label.toLowerCase()}…`));
    }
    this.node.setAttribute('aria-busy', 'true');
    let content: Node;
    try {
      content = await this.render();
    } catch (error) {
      content = errorNotice(error, this.label.toLowerCase());
    }
    if (ticket !== this.ticket) {
      return; // a newer load is on its way
    }
    this.node.removeAttribute('aria-busy');
    this.hasContent = true;
    replaceChildren(this.content, content);
    this.onShown(content);
  }

  /** Draw the section from fresh data; throw to show an error. */
  protected abstract render(): Promise<Node>;

  /**
   * Called with the content of the load that won, once it is on screen: the place
   * to adjust controls outside `content` (a load that lost never gets here).
   */
  protected onShown(_content: Node): void {
    // Nothing by default.
  }

  /** The section's empty state as a notice. */
  protected empty(state: IEmptyState): HTMLElement {
    return notice('empty', state.text, state.hint);
  }
}
