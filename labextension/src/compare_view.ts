/**
 * Runs side by side in JupyterLab's main area: a tab per set of runs, opened from the
 * Runs table's selection, redrawn when the registry changes while it is on screen.
 */
import { MainAreaWidget } from '@jupyterlab/apputils';
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { requestAPI } from './api';
import { notice, replaceChildren } from './dom';
import { mlopsIcon } from './icon';
import type { IComparison } from './types';
import { renderComparison } from './sections/compare';
import { errorNotice } from './sections/section';
import { ChangeWatcher } from './watcher';

/** The body of a compare tab: loads `compare?runs=...` and draws it. */
export class CompareView extends Widget {
  private showAll = false;
  private stale = true;
  private ticket = 0;
  private drawn = false;

  constructor(
    readonly runIds: string[],
    private readonly openRun: (runId: string) => void,
    watcher: ChangeWatcher
  ) {
    super();
    this.addClass('jp-mlops-compare-view');
    this.node.tabIndex = -1;
    watcher.watch(this);
    watcher.changed.connect(() => {
      this.stale = true;
      this.loadIfStale();
    }, this);
  }

  async load(): Promise<void> {
    const ticket = ++this.ticket;
    this.stale = false;
    if (!this.drawn) {
      replaceChildren(this.node, notice('loading', `Loading ${this.runIds.length} runs…`));
    }
    let content: Node;
    try {
      const comparison = await requestAPI<IComparison>('compare', {
        runs: this.runIds.join(',')
      });
      content = renderComparison(comparison, this.openRun, this.showAll, showAll => {
        this.showAll = showAll;
        void this.load();
      });
    } catch (error) {
      content = errorNotice(error, `the comparison of ${this.runIds.length} runs`);
    }
    if (ticket !== this.ticket) {
      return;
    }
    this.drawn = true;
    replaceChildren(this.node, content);
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    this.loadIfStale();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.loadIfStale();
  }

  private loadIfStale(): void {
    if (this.stale && this.isVisible) {
      void this.load();
    }
  }
}

/** A compare tab: the view inside JupyterLab's main-area frame. */
export function createCompareWidget(
  runIds: string[],
  openRun: (runId: string) => void,
  watcher: ChangeWatcher
): MainAreaWidget<CompareView> {
  const content = new CompareView(runIds, openRun, watcher);
  content.title.label = `Compare ${runIds.length} runs`;
  content.title.caption = runIds.join(', ');
  content.title.icon = mlopsIcon;
  const widget = new MainAreaWidget({ content });
  widget.id = `jupyter-mlops-compare-${runIds.join('-')}`;
  widget.addClass('jp-mlops-compare-widget');
  widget.title.closable = true;
  return widget;
}
