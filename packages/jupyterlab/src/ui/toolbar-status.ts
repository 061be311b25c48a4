/**
 * The status in each notebook's toolbar too (the status bar is often hidden): the same text and
 * details dialog as the status bar item, for the notebook whose kernel the controller follows (the
 * current one). Another notebook's toolbar says only "nbferry" until it is the current one.
 */
import type { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import type { NbferryController } from './controller.js';
import { StatusItem } from './status-item.js';

export class ToolbarStatusItem extends StatusItem {
  constructor(
    controller: NbferryController,
    openPlan: () => void,
    private readonly panel: NotebookPanel,
    private readonly notebooks: INotebookTracker,
  ) {
    super(controller, openPlan, 'nbferry-toolbar-status');
    this.addClass('jp-ToolbarButtonComponent');
    notebooks.currentChanged.connect(this.render, this);
    this.render();
  }

  override dispose(): void {
    if (this.isDisposed) return;
    this.notebooks.currentChanged.disconnect(this.render, this);
    super.dispose();
  }

  override render(): void {
    // Called by the base constructor before the fields are set.
    if (this.notebooks === undefined || this.notebooks.currentWidget === this.panel) {
      super.render();
      return;
    }
    this.node.textContent = 'nbferry';
    this.node.title = 'nbferry follows the current notebook: click into this one to see its protection';
    this.node.dataset.level = 'other';
  }

  override async showDetails(): Promise<void> {
    if (this.notebooks.currentWidget === this.panel) await super.showDetails();
  }
}
