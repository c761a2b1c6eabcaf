/**
 * jupyter-mlops for JupyterLab: a left-sidebar panel over the project's registry.
 */
import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Clipboard, ICommandPalette } from '@jupyterlab/apputils';
import { IDocumentManager } from '@jupyterlab/docmanager';

import { mlopsIcon } from './icon';
import { MlopsPanel } from './panel';

const PANEL_ID = 'jupyter-mlops-panel';

export const CommandIds = {
  open: 'jupyter-mlops:open',
  reload: 'jupyter-mlops:reload'
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
    const panel = new MlopsPanel({
      openPath: path => {
        if (docManager) {
          docManager.openOrReveal(path);
        } else {
          void app.commands.execute('docmanager:open', { path });
        }
      },
      copyText: text => Clipboard.copyToSystem(text)
    });
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
    for (const command of Object.values(CommandIds)) {
      palette?.addItem({ command, category: 'MLOps' });
    }
  }
};

export default plugin;
