/**
 * @nbferry/jupyterlab: the user sees their kernel's nbferry safety net and controls it.
 * Wires the controller (state of the current notebook's kernel) to the status item, the history
 * panel, the plan view, the announcement notifications and the commands.
 */
import { ILayoutRestorer, type JupyterFrontEnd, type JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, WidgetTracker, type MainAreaWidget } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { IStatusBar } from '@jupyterlab/statusbar';
import { LabIcon } from '@jupyterlab/ui-components';
import { Signal } from '@lumino/signaling';
import type { Widget } from '@lumino/widgets';
import { Announcer } from './ui/announcer.js';
import { NbferryClient } from './ui/client.js';
import { addCommands, CommandIds } from './ui/commands.js';
import { NbferryController } from './ui/controller.js';
import { HistoryPanel } from './ui/history-panel.js';
import { Operations } from './ui/operations.js';
import { createPlanView } from './ui/plan-view.js';
import { StatusItem } from './ui/status-item.js';
import { ToolbarStatusItem } from './ui/toolbar-status.js';

const PLUGIN_ID = '@nbferry/jupyterlab:plugin';

const ferryIcon = new LabIcon({
  name: 'nbferry:ferry',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="16"><path class="jp-icon3" fill="#616161" ' +
    'd="M3 14h18l-2.5 5.5a1 1 0 0 1-.9.5H6.4a1 1 0 0 1-.9-.5zM6 13V8h12v5h-2v-3H8v3zM11 4h2v3h-2z"/></svg>',
});

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'nbferry: see and control the checkpoints that protect your kernel.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [IStatusBar, ICommandPalette, ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    notebooks: INotebookTracker,
    statusBar: IStatusBar | null,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
  ) => {
    const client = new NbferryClient(app.serviceManager.serverSettings);
    const controller = new NbferryController(client, notebooks);
    const ops = new Operations(app, controller);

    const planTracker = new WidgetTracker<MainAreaWidget>({ namespace: 'nbferry-plan' });
    const openPlan = (): void => {
      void controller.refresh();
      const open = planTracker.currentWidget;
      if (open && !open.isDisposed) {
        app.shell.activateById(open.id);
        return;
      }
      const view = createPlanView(controller);
      view.title.icon = ferryIcon;
      void planTracker.add(view);
      app.shell.add(view, 'main', { mode: 'split-right' });
      app.shell.activateById(view.id);
    };

    const panel = new HistoryPanel(controller, ops, openPlan);
    panel.title.icon = ferryIcon;
    app.shell.add(panel, 'right', { rank: 600 });
    restorer?.add(panel, panel.id);

    const status = new StatusItem(controller, openPlan);
    const notebookShown = new Signal<object, void>(notebooks);
    notebooks.currentChanged.connect(() => notebookShown.emit());
    statusBar?.registerStatusItem(PLUGIN_ID + ':status', {
      item: status as Widget,
      align: 'left',
      rank: 5,
      isActive: () => notebooks.currentWidget !== null,
      activeStateChanged: notebookShown,
    });

    // The same status in each notebook's toolbar, right of the cell type menu.
    app.docRegistry.addWidgetExtension('Notebook', {
      createNew: (widget) => {
        if (!(widget instanceof NotebookPanel)) return;
        const item = new ToolbarStatusItem(controller, openPlan, widget, notebooks);
        widget.toolbar.insertAfter('cellType', 'nbferry-status', item);
        return item;
      },
    });

    addCommands(
      app,
      controller,
      ops,
      {
        openHistory: () => app.shell.activateById(panel.id),
        openPlan,
        showStatus: () => void status.showDetails(),
      },
      palette,
    );

    new Announcer(client, app.serviceManager.kernels, () => void app.commands.execute(CommandIds.checkpoint));
  },
};

export default plugin;
