/**
 * A run's page inside the sidebar, for those who keep the main area for notebooks: the
 * same view as a run's tab (run_view.ts), below a line with "‹ Runs" (back to the
 * list) and "Open in a tab". Whether a click on a run opens it here or in a tab is a
 * toggle of the panel, remembered by the browser.
 */
import { Widget } from '@lumino/widgets';

import { button, h, replaceChildren } from './dom';
import { RunView } from './run_view';
import { IRunDetailActions } from './sections/run_detail';
import { ChangeWatcher } from './watcher';

const STORAGE_KEY = 'jupyter-mlops:open-runs-in-sidebar';

/** Whether runs open in the sidebar, as the browser remembers it. */
export function opensInSidebar(): boolean {
  try {
    return window.localStorage.getItem(STORAGE_KEY) === 'true';
  } catch {
    return false;
  }
}

/** Remember whether runs open in the sidebar. */
export function setOpensInSidebar(value: boolean): void {
  try {
    window.localStorage.setItem(STORAGE_KEY, String(value));
  } catch {
    // A browser that stores nothing: the choice lasts until the page reloads.
  }
}

export class SidebarRun {
  /** The back line and the run's view; the panel puts it in place of its sections. */
  readonly node: HTMLElement;
  private readonly host: HTMLElement;
  private view: RunView | null = null;

  constructor(
    private readonly actions: IRunDetailActions,
    private readonly watcher: ChangeWatcher,
    private readonly back: () => void,
    private readonly openInTab: (runId: string) => void
  ) {
    this.host = h('div', { className: 'jp-mlops-sidebar-run-host' });
    this.node = h('div', { className: 'jp-mlops-sidebar-run' }, this.host);
  }

  /** Whether a run is shown. */
  get isShown(): boolean {
    return this.view !== null;
  }

  /** Show `runId`; the panel must have put `node` in the page first. */
  show(runId: string): void {
    this.close();
    const view = new RunView(runId, this.actions, this.watcher);
    this.view = view;
    const bar = h(
      'div',
      { className: 'jp-mlops-sidebar-run-bar' },
      button('‹ Runs', () => this.back(), {
        className: 'jp-mlops-sidebar-back',
        title: 'Back to the list of runs'
      }),
      button(
        'Open in a tab',
        () => {
          this.back();
          this.openInTab(runId);
        },
        { className: 'jp-mlops-sidebar-tab', title: "Open the run's page in the main area" }
      )
    );
    replaceChildren(this.node, bar, this.host);
    Widget.attach(view, this.host);
  }

  /** Drop the run's view (it stops loading). */
  close(): void {
    if (this.view) {
      if (this.view.isAttached) {
        Widget.detach(this.view);
      }
      this.view.dispose();
      this.view = null;
    }
  }
}
