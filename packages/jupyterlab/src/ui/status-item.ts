/** The status bar item: protected or not, last checkpoint age and size, variables at risk (list on click). */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';
import { ControllerView } from './controller-view.js';
import { describeStatus } from '../model/status.js';
import type { NbferryController } from './controller.js';
import { el } from './dom.js';

const AGE_TICK_MS = 15_000;

export class StatusItem extends ControllerView {
  private readonly timer: ReturnType<typeof setInterval>;

  constructor(
    controller: NbferryController,
    private readonly openPlan: () => void,
    className = 'nbferry-status',
  ) {
    super(controller);
    this.addClass(className);
    this.node.setAttribute('role', 'button');
    this.node.tabIndex = 0;
    this.node.addEventListener('click', () => void this.showDetails());
    this.node.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') void this.showDetails();
    });
    // The age must tick even when nothing else changes.
    this.timer = setInterval(() => this.render(), AGE_TICK_MS);
    this.render();
  }

  override dispose(): void {
    clearInterval(this.timer);
    super.dispose();
  }

  render(): void {
    const view = describeStatus(this.controller.status, Date.now());
    this.node.textContent = view.label;
    this.node.title = view.title;
    this.node.dataset.level = view.level;
    this.node.dataset.recompute = String(view.recompute.length);
    this.node.dataset.lost = String(view.lost.length);
  }

  async showDetails(): Promise<void> {
    const view = describeStatus(this.controller.status, Date.now());
    const body = el('div', { className: 'nbferry-status-details' }, [
      el('p', { text: view.title }),
      el('h3', { text: `Recomputed on restore (${view.recompute.length})` }),
      view.recompute.length === 0
        ? el('p', { text: 'none' })
        : el('ul', { className: 'nbferry-recompute-list' }, view.recompute.map((n) => el('li', { text: n, data: { variable: n } }))),
      el('h3', { text: `Cannot be brought back (${view.lost.length})` }),
      view.lost.length === 0
        ? el('p', { text: 'none' })
        : el(
            'ul',
            { className: 'nbferry-lost-list' },
            view.lost.map((u) => el('li', { text: u.reason ? `${u.name}: ${u.reason}` : u.name, data: { variable: u.name } })),
          ),
    ]);
    const result = await showDialog({
      title: 'nbferry',
      body: new Widget({ node: body }),
      buttons: [Dialog.cancelButton({ label: 'Close' }), Dialog.okButton({ label: 'Open the plan' })],
    });
    if (result.button.accept) this.openPlan();
  }
}
