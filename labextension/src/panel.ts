/**
 * The sidebar panel: a status line, tabs for Runs, Models, Snapshots, Drift and
 * Pipelines; it reloads the visible tab when the registry changes (see watcher.ts).
 * A run opens in a main-area tab, or in the sidebar itself when "Open runs here" is on
 * (see sidebar_run.ts).
 */
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { ApiError, requestAPI } from './api';
import { button, h, notice, replaceChildren } from './dom';
import type { IStatus } from './types';
import { DriftSection } from './sections/drift';
import { ModelsSection } from './sections/models';
import { PipelinesSection } from './sections/pipelines';
import { RunsSection } from './sections/runs';
import { ISectionHost, Section } from './sections/section';
import { SnapshotsSection } from './sections/snapshots';
import { opensInSidebar, setOpensInSidebar, SidebarRun } from './sidebar_run';
import { ChangeWatcher } from './watcher';

/** What the panel needs from JupyterLab. */
export interface IPanelServices {
  openPath(path: string): void;
  copyText(text: string): void;
  /** Open a run's page in the main area. */
  openRun(runId: string): void;
  /** Open runs side by side in the main area. */
  compareRuns(runIds: string[]): void;
}

export class MlopsPanel extends Widget {
  private readonly statusLine: HTMLElement;
  private readonly connectionLost: HTMLElement;
  private readonly tabBar: HTMLElement;
  private readonly body: HTMLElement;
  private readonly sections: Section[];
  private readonly sidebarRun: SidebarRun;
  private readonly openHere: HTMLInputElement;
  private current: Section;
  private status: IStatus | null = null;
  private loaded = false;

  constructor(
    private readonly services: IPanelServices,
    private readonly watcher: ChangeWatcher
  ) {
    super();
    this.addClass('jp-mlops-panel');
    const host: ISectionHost = {
      openPath: path => this.services.openPath(path),
      copyText: text => this.services.copyText(text),
      openRun: runId => this.openRun(runId),
      compareRuns: runIds => this.services.compareRuns(runIds),
      refresh: () => void this.watcher.refresh(),
      showDriftReport: reportId => {
        drift.reveal(reportId);
        this.select(drift);
      }
    };
    const runs = new RunsSection(host);
    const drift = new DriftSection(host);
    this.sections = [
      runs,
      new ModelsSection(host),
      new SnapshotsSection(host),
      drift,
      new PipelinesSection(host)
    ];
    this.current = runs;

    this.statusLine = h(
      'div',
      { className: 'jp-mlops-status', attrs: { role: 'status' } },
      'Connecting…'
    );
    this.connectionLost = h(
      'div',
      { className: 'jp-mlops-connection-lost', attrs: { role: 'alert' } },
      'The Jupyter server does not answer; retrying.'
    );
    this.connectionLost.hidden = true;
    this.tabBar = h(
      'div',
      { className: 'jp-mlops-tabs', attrs: { role: 'tablist' } },
      ...this.sections.map(section =>
        h(
          'button',
          {
            className: 'jp-mlops-tab',
            attrs: {
              type: 'button',
              role: 'tab',
              'data-section': section.id,
              'aria-selected': 'false'
            },
            on: { click: () => this.select(section) }
          },
          section.label
        )
      )
    );
    this.body = h('div', { className: 'jp-mlops-body' });
    this.sidebarRun = new SidebarRun(
      this.services,
      watcher,
      () => this.closeSidebarRun(),
      runId => this.services.openRun(runId)
    );
    this.openHere = h('input', {
      className: 'jp-mlops-open-here',
      attrs: { type: 'checkbox' },
      on: { change: () => setOpensInSidebar(this.openHere.checked) }
    });
    this.openHere.checked = opensInSidebar();
    this.node.append(
      h(
        'div',
        { className: 'jp-mlops-header' },
        h('h2', { className: 'jp-mlops-title' }, 'MLOps'),
        h(
          'label',
          {
            className: 'jp-mlops-flat-label jp-mlops-open-here-label',
            title: "Show a run's page here in the sidebar instead of in a main-area tab"
          },
          this.openHere,
          'Open runs here'
        ),
        button('Reload', () => void this.reload(), {
          className: 'jp-mlops-reload',
          title: 'Reload from the registry'
        })
      ),
      this.statusLine,
      this.connectionLost,
      this.tabBar,
      this.body
    );
    this.markSelected();

    watcher.watch(this);
    watcher.changed.connect(() => {
      if (this.isVisible) {
        void this.reload();
      } else {
        this.loaded = false; // reload when shown again
      }
    }, this);
    watcher.answered.connect((_, answered) => {
      this.connectionLost.hidden = answered;
    }, this);
  }

  /** Fetch the status and redraw the selected section now. */
  async reload(): Promise<void> {
    for (const section of this.sections) {
      section.stale = true;
    }
    await this.showStatusAndSection();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    if (!this.loaded) {
      this.loaded = true;
      void this.reload();
    }
    void this.watcher.refresh(); // catch up at once on what changed while hidden
  }

  /** Show a run: in the sidebar when "Open runs here" is on, else in a main-area tab. */
  private openRun(runId: string): void {
    if (!this.openHere.checked || !this.status?.registry.exists) {
      this.services.openRun(runId);
      return;
    }
    replaceChildren(this.body, this.sidebarRun.node);
    this.sidebarRun.show(runId);
  }

  /** Back from a run shown in the sidebar to the selected section. */
  private closeSidebarRun(): void {
    this.sidebarRun.close();
    replaceChildren(this.body, this.current.node);
    if (this.current.stale) {
      void this.current.load();
    }
  }

  private select(section: Section): void {
    this.sidebarRun.close();
    this.current = section;
    this.markSelected();
    if (this.status?.registry.exists) {
      replaceChildren(this.body, section.node);
      if (section.stale) {
        void section.load();
      }
    }
  }

  private markSelected(): void {
    for (const tab of Array.from(this.tabBar.children)) {
      const selected = (tab as HTMLElement).dataset.section === this.current.id;
      tab.setAttribute('aria-selected', String(selected));
      tab.classList.toggle('jp-mod-current', selected);
    }
  }

  private async showStatusAndSection(): Promise<void> {
    try {
      this.status = await requestAPI<IStatus>('status');
    } catch (error) {
      this.status = null;
      this.statusLine.textContent = 'The jupyter-mlops server extension did not answer.';
      const hint =
        error instanceof ApiError && error.status === 404
          ? 'Check that it is enabled: jupyter server extension list (then restart JupyterLab).'
          : error instanceof ApiError
            ? error.hint
            : null;
      replaceChildren(
        this.body,
        notice('error', error instanceof Error ? error.message : String(error), hint)
      );
      return;
    }
    const registry = this.status.registry;
    if (!registry.exists) {
      this.statusLine.textContent = `jupyter-mlops ${this.status.version} · no registry`;
      replaceChildren(
        this.body,
        notice(
          'empty',
          registry.path ? `No registry found at ${registry.path}` : 'No registry found',
          registry.path
            ? 'MLOPS_REGISTRY names a file that does not exist yet; create it with %mlops init, or change the variable.'
            : `Looked for .mlops/registry.db in ${this.status.root_dir} and the folders above it. ` +
                'Create one with %mlops init in a notebook or jupyter mlops init in a terminal, or set MLOPS_REGISTRY.'
        )
      );
      return;
    }
    replaceChildren(
      this.statusLine,
      `jupyter-mlops ${this.status.version} · `,
      h(
        'code',
        { className: 'jp-mlops-registry-path', title: registry.path ?? '' },
        registry.path ?? ''
      )
    );
    if (this.sidebarRun.isShown) {
      return; // the run's view reloads itself; the section when the user goes back
    }
    replaceChildren(this.body, this.current.node);
    await this.current.load();
  }
}
