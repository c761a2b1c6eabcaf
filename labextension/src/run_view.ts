/**
 * A run's page in JupyterLab's main area: a tab per run, opened from the sidebar,
 * redrawn when the registry changes while it is on screen (a run still recording
 * shows its new metrics), kept across reloads of JupyterLab by the layout restorer.
 * Its housekeeping controls (run_actions.ts) live as long as the tab, so a redraw keeps
 * a note being edited; once the run is purged, the tab says so and loads nothing more.
 */
import { MainAreaWidget } from '@jupyterlab/apputils';
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { requestAPI } from './api';
import { h, notice, replaceChildren } from './dom';
import { doneNotice } from './sections/note_editor';
import { ReproduceControl } from './sections/reproduce';
import { RunActions } from './sections/run_actions';
import { mlopsIcon } from './icon';
import type { IPurgeResult, IRunDetail } from './types';
import { IRunDetailActions, IRunSweep, renderRunDetail } from './sections/run_detail';
import { errorNotice } from './sections/section';
import { ISweepChoice, loadSweep } from './sections/sweep';
import { ChangeWatcher } from './watcher';

/** The body of a run's tab: loads `runs/ID` and draws it. */
export class RunView extends Widget {
  /** Where an export reports, kept across redraws. */
  private readonly exportStatus = h('div');
  /** The metric and parameter picked in the Sweep section, kept across redraws. */
  private readonly sweepChoice: ISweepChoice = { metric: null, param: null, maximize: null };
  /** The note and housekeeping controls, kept across redraws. */
  private readonly manage: RunActions;
  /** The Reproduce button and the reproduction it follows, kept across redraws. */
  private readonly reproduce: ReproduceControl;
  private stale = true;
  private ticket = 0;
  private drawn = false;
  private purged: IPurgeResult | null = null;

  constructor(
    readonly runId: string,
    private readonly actions: IRunDetailActions,
    watcher: ChangeWatcher
  ) {
    super();
    this.manage = new RunActions(runId, {
      refresh: () => void watcher.refresh(),
      purged: result => this.showPurged(result)
    });
    this.reproduce = new ReproduceControl(runId, {
      refresh: () => void watcher.refresh(),
      openRun: id => actions.openRun(id),
      openPath: path => actions.openPath(path)
    });
    this.addClass('jp-mlops-run-view');
    this.node.tabIndex = -1;
    watcher.watch(this);
    watcher.changed.connect(this.onRegistryChanged, this);
  }

  /** Fetch the run and draw it; a load that a newer one overtook draws nothing. */
  async load(): Promise<void> {
    const ticket = ++this.ticket;
    this.stale = false;
    if (this.purged) {
      return;
    }
    if (!this.drawn) {
      replaceChildren(this.node, notice('loading', `Loading run ${this.runId}…`));
    }
    let content: Node;
    try {
      const detail = await requestAPI<IRunDetail>(`runs/${encodeURIComponent(this.runId)}`);
      this.title.label = `Run ${detail.run.name || detail.run.id}`;
      this.title.caption = `${detail.run.experiment} · ${detail.run.name} (${detail.run.id})`;
      // A parent's sweep is loaded with it, so a redraw never flashes an empty section.
      const sweep: IRunSweep | null = detail.run.children
        ? {
            loaded: await loadSweep(detail.run.id, this.sweepChoice),
            choice: this.sweepChoice,
            choose: choice => {
              Object.assign(this.sweepChoice, choice);
              void this.load();
            }
          }
        : null;
      this.manage.update(detail);
      void this.reproduce.load();
      content = renderRunDetail(
        detail,
        this.actions,
        this.exportStatus,
        sweep,
        this.manage,
        this.reproduce
      );
    } catch (error) {
      content = errorNotice(error, `run ${this.runId}`);
    }
    if (ticket !== this.ticket || this.purged) {
      return;
    }
    this.drawn = true;
    replaceChildren(this.node, content);
  }

  dispose(): void {
    this.reproduce.dispose();
    super.dispose();
  }

  /** The run is gone: say what went, and load nothing more. */
  private showPurged(result: IPurgeResult): void {
    this.purged = result;
    this.ticket++;
    this.title.label = `Purged ${this.runId.slice(0, 8)}`;
    replaceChildren(
      this.node,
      h('div', { className: 'jp-mlops-run-purged' }, doneNotice(result.message))
    );
  }

  // The frame attaches its content once revealed, so a view may become visible by
  // being attached (to a visible tab) as well as by being shown.
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

  private onRegistryChanged(): void {
    this.stale = true;
    if (this.isVisible) {
      void this.load();
    }
  }
}

/** A run's tab: the view inside JupyterLab's main-area frame, with the panel's icon. */
export function createRunWidget(
  runId: string,
  actions: IRunDetailActions,
  watcher: ChangeWatcher
): MainAreaWidget<RunView> {
  const content = new RunView(runId, actions, watcher);
  // The frame copies its content's title (label, caption, icon) whenever it changes.
  content.title.label = `Run ${runId.slice(0, 8)}`;
  content.title.icon = mlopsIcon;
  const widget = new MainAreaWidget({ content });
  widget.id = `jupyter-mlops-run-${runId}`;
  widget.addClass('jp-mlops-run-widget');
  widget.title.closable = true;
  return widget;
}
