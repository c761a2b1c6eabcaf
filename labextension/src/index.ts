/**
 * jupyter-mlops for JupyterLab: a left-sidebar panel over the project's registry,
 * a main-area tab per run and per comparison of runs, and "Export to pipeline" for notebooks.
 */
import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import {
  Clipboard,
  ICommandPalette,
  MainAreaWidget,
  Notification,
  WidgetTracker
} from '@jupyterlab/apputils';
import { IDocumentManager } from '@jupyterlab/docmanager';

import { ApiError } from './api';
import { CompareView, createCompareWidget } from './compare_view';
import { exportNotebook, exportSummary } from './export';
import { mlopsIcon } from './icon';
import { MlopsPanel } from './panel';
import { createRunWidget, RunView } from './run_view';
import { IRunDetailActions } from './sections/run_detail';
import { ChangeWatcher } from './watcher';

const PANEL_ID = 'jupyter-mlops-panel';

export const CommandIds = {
  open: 'jupyter-mlops:open',
  reload: 'jupyter-mlops:reload',
  openRun: 'jupyter-mlops:open-run',
  compareRuns: 'jupyter-mlops:compare-runs',
  exportNotebook: 'jupyter-mlops:export-notebook'
} as const;

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-mlops:panel',
  description:
    'A sidebar panel with the runs, models, snapshots, drift reports and pipelines of the registry.',
  autoStart: true,
  optional: [ILayoutRestorer, IDocumentManager, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    restorer: ILayoutRestorer | null,
    docManager: IDocumentManager | null,
    palette: ICommandPalette | null
  ) => {
    const watcher = new ChangeWatcher();
    const openPath = (path: string) => {
      if (docManager) {
        docManager.openOrReveal(path);
      } else {
        void app.commands.execute('docmanager:open', { path });
      }
    };
    const actions: IRunDetailActions = {
      openPath,
      copyText: text => Clipboard.copyToSystem(text),
      openRun: runId => void app.commands.execute(CommandIds.openRun, { runId })
    };

    const runs = new WidgetTracker<MainAreaWidget<RunView>>({ namespace: 'jupyter-mlops-run' });
    app.commands.addCommand(CommandIds.openRun, {
      label: args => (args.runId ? `Open Run ${String(args.runId)}` : 'Open Run'),
      execute: args => {
        const runId = String(args.runId ?? '');
        if (!runId) {
          return;
        }
        const open = runs.find(widget => widget.content.runId === runId);
        if (open) {
          app.shell.activateById(open.id);
          return open;
        }
        const widget = createRunWidget(runId, actions, watcher);
        void runs.add(widget);
        app.shell.add(widget, 'main');
        app.shell.activateById(widget.id);
        return widget;
      }
    });
    restorer
      ?.restore(runs, {
        command: CommandIds.openRun,
        args: widget => ({ runId: widget.content.runId }),
        name: widget => widget.content.runId
      })
      .catch(() => undefined);

    const comparisons = new WidgetTracker<MainAreaWidget<CompareView>>({
      namespace: 'jupyter-mlops-compare'
    });
    app.commands.addCommand(CommandIds.compareRuns, {
      label: 'Compare Runs',
      execute: args => {
        const runIds = Array.isArray(args.runIds) ? args.runIds.map(String) : [];
        if (runIds.length < 2) {
          return;
        }
        const key = runIds.join(',');
        const open = comparisons.find(widget => widget.content.runIds.join(',') === key);
        if (open) {
          app.shell.activateById(open.id);
          return open;
        }
        const widget = createCompareWidget(runIds, actions.openRun, watcher);
        void comparisons.add(widget);
        app.shell.add(widget, 'main');
        app.shell.activateById(widget.id);
        return widget;
      }
    });
    restorer
      ?.restore(comparisons, {
        command: CommandIds.compareRuns,
        args: widget => ({ runIds: widget.content.runIds }),
        name: widget => widget.content.runIds.join(',')
      })
      .catch(() => undefined);

    const panel = new MlopsPanel(
      {
        ...actions,
        compareRuns: runIds => void app.commands.execute(CommandIds.compareRuns, { runIds })
      },
      watcher
    );
    panel.id = PANEL_ID;
    panel.title.icon = mlopsIcon;
    panel.title.caption = 'MLOps: runs, models, drift';
    app.shell.add(panel, 'left', { rank: 650 });
    restorer?.add(panel, PANEL_ID);

    app.commands.addCommand(CommandIds.open, {
      label: 'Show MLOps Panel',
      execute: () => app.shell.activateById(PANEL_ID)
    });
    app.commands.addCommand(CommandIds.reload, {
      label: 'Reload MLOps Panel',
      execute: () => panel.reload()
    });
    app.commands.addCommand(CommandIds.exportNotebook, {
      label: 'Export Notebook to Pipeline',
      caption: 'Write a pipeline folder (one step per tagged block) beside the notebook',
      isEnabled: args => Boolean(args.path) || currentNotebookPath(app, docManager) !== null,
      execute: async args => {
        const path = args.path ? String(args.path) : currentNotebookPath(app, docManager);
        if (!path) {
          Notification.warning('Open a notebook to export it to a pipeline.');
          return null;
        }
        try {
          const result = await exportNotebook(path);
          Notification.success(exportSummary(result), { autoClose: false });
          return result;
        } catch (error) {
          const hint = error instanceof ApiError && error.hint ? ` ${error.hint}` : '';
          const message = error instanceof Error ? error.message : String(error);
          Notification.error(`Could not export ${path}: ${message}${hint}`, { autoClose: false });
          return null;
        }
      }
    });
    app.contextMenu.addItem({
      command: CommandIds.exportNotebook,
      selector: '.jp-Notebook',
      rank: 90
    });
    for (const command of [CommandIds.open, CommandIds.reload, CommandIds.exportNotebook]) {
      palette?.addItem({ command, category: 'MLOps' });
    }
  }
};

/** The path (relative to the server root) of the notebook in the current main-area tab. */
function currentNotebookPath(
  app: JupyterFrontEnd,
  docManager: IDocumentManager | null
): string | null {
  const widget = app.shell.currentWidget;
  const context = widget && docManager ? docManager.contextForWidget(widget) : undefined;
  return context && context.path.endsWith('.ipynb') ? context.path : null;
}

export default plugin;
