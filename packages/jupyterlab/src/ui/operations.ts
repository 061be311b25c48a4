/**
 * The user's actions on the watched kernel: each runs in the background through the controller
 * (buttons disabled meanwhile), shows progress, and ends in a notification carrying the service's
 * own message on failure. Nothing here blocks the notebook.
 */
import type { JupyterFrontEnd } from '@jupyterlab/application';
import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';
import type { MoveTarget } from '../model/api-types.js';
import { isRecord, NbferryUiError } from '../model/errors.js';
import { formatBytes } from '../model/format.js';
import type { JobProgress } from '../model/jobs.js';
import { undoTarget } from '../model/timeline.js';
import { BAD_OUTCOMES, verificationReport } from '../model/verification.js';
import { type NbferryController, messageOf } from './controller.js';

export class Operations {
  constructor(
    private readonly app: JupyterFrontEnd,
    private readonly controller: NbferryController,
  ) {}

  async checkpoint(allowLoss = false): Promise<void> {
    const c = this.controller;
    await this.attempt('Checkpoint', async () => {
      const result = await c.run('checkpoint', (id, signal) =>
        c.client.operation(`kernels/${encodeURIComponent(id)}/checkpoint`, allowLoss ? { allowLoss } : {}, this.progress(), signal),
      );
      const bytes = isRecord(result) && typeof result.newBytes === 'number' ? result.newBytes : null;
      Notification.success(`nbferry: checkpoint written${bytes === null ? '' : ` (${formatBytes(bytes)} new)`}`, { autoClose: 4000 });
    }, (error) =>
      error instanceof NbferryUiError && error.code === 'CHECKPOINT_WOULD_LOSE'
        ? [{ label: 'Checkpoint anyway', callback: () => void this.checkpoint(true), displayType: 'warn' as const }]
        : [],
    );
  }

  async undo(): Promise<void> {
    const c = this.controller;
    const target = undoTarget(c.timeline);
    await this.attempt('Undo last cell', async () => {
      const outcome = await c.run('undo', (id, signal) =>
        c.client.operation(`kernels/${encodeURIComponent(id)}/undo`, {}, this.progress(), signal),
      );
      this.showReport('Undo last cell', outcome, target);
    });
  }

  async restore(checkpointId: string | null = this.controller.selected): Promise<void> {
    const c = this.controller;
    if (checkpointId === null) {
      Notification.warning('nbferry: select a checkpoint in the history panel first', { autoClose: 4000 });
      return;
    }
    await this.attempt('Restore', async () => {
      const outcome = await c.run(
        'restore',
        (id, signal) => c.client.operation(`kernels/${encodeURIComponent(id)}/checkout`, { checkpointId }, this.progress(), signal),
        checkpointId,
      );
      this.showReport(`Restore ${shortId(checkpointId)}`, outcome, checkpointId);
    });
  }

  /** Opens the checkpoint in a NEW kernel (a branch) and a console on it; this kernel is untouched. */
  async branch(checkpointId: string | null = this.controller.selected): Promise<void> {
    const c = this.controller;
    const jupyterKernelId = c.jupyterKernelId;
    if (checkpointId === null || jupyterKernelId === null) {
      Notification.warning('nbferry: select a checkpoint in the history panel first', { autoClose: 4000 });
      return;
    }
    await this.attempt('Open as a new kernel', async () => {
      const branch = await c.run('branch', (_id, signal) => c.client.branch(jupyterKernelId, checkpointId, signal), checkpointId);
      this.showReport(`Branch of ${shortId(checkpointId)}`, branch.outcome, checkpointId);
      await this.app.commands.execute('console:create', {
        kernelPreference: { id: branch.jupyterKernelId },
        insertMode: 'split-right',
      });
    });
  }

  async move(): Promise<void> {
    const c = this.controller;
    if (!c.enablement('move').enabled) return;
    await this.attempt('Move', async () => {
      const targets = await c.client.targets();
      const target = await chooseTarget(targets);
      if (target === null) return;
      // To another Jupyter Server: the kernel runs in the notebook's directory there (its root if that is missing).
      const body = 'target' in target.body ? { ...target.body, path: c.notebookDirectory } : target.body;
      const outcome = await c.run('move', (id, signal) => c.client.operation(`kernels/${encodeURIComponent(id)}/migrate`, body, this.progress(), signal));
      const newKernel = isRecord(outcome) && isRecord(outcome.kernel) && typeof outcome.kernel.id === 'string' ? outcome.kernel.id : null;
      this.showReport(`Move to ${target.label}${newKernel === null ? '' : ` (nbferry kernel ${newKernel})`}`, outcome, null);
    });
  }

  private progress(): (p: JobProgress) => void {
    return (p) => this.controller.setProgress(p);
  }

  private showReport(title: string, outcome: unknown, checkpointId: string | null): void {
    const report = verificationReport(outcome);
    if (report.checkpointId === null && checkpointId !== null) report.checkpointId = checkpointId;
    this.controller.setReport({ title, report });
    const lostAny = report.rows.some((r) => BAD_OUTCOMES.has(r.outcome));
    const text = `nbferry: ${title}: ${report.summary}`;
    if (report.ok === false || lostAny) Notification.warning(text, { autoClose: false });
    else Notification.success(text, { autoClose: 5000 });
  }

  /** Runs an action; a failure becomes an error notification with the service's message. */
  private async attempt(
    what: string,
    body: () => Promise<void>,
    actionsFor: (error: unknown) => Notification.IAction[] = () => [],
  ): Promise<void> {
    try {
      await body();
    } catch (error) {
      if (error instanceof DOMException && error.name === 'AbortError') return;
      Notification.error(`nbferry: ${what} failed: ${messageOf(error)}`, { autoClose: false, actions: actionsFor(error) });
    }
  }
}

function shortId(id: string): string {
  return id.length > 12 ? id.slice(0, 12) : id;
}

class TargetChooser extends Widget {
  private readonly select: HTMLSelectElement;
  constructor(private readonly targets: MoveTarget[]) {
    super();
    this.addClass('nbferry-move-dialog');
    this.select = document.createElement('select');
    this.select.className = 'nbferry-move-target';
    for (const t of targets) {
      const option = document.createElement('option');
      option.value = t.id;
      option.textContent = t.label;
      option.title = t.description ?? '';
      this.select.appendChild(option);
    }
    const label = document.createElement('label');
    label.textContent = 'Move this kernel’s state to ';
    label.appendChild(this.select);
    this.node.appendChild(label);
  }
  getValue(): MoveTarget | null {
    return this.targets.find((t) => t.id === this.select.value) ?? null;
  }
}

async function chooseTarget(targets: MoveTarget[]): Promise<MoveTarget | null> {
  const body = new TargetChooser(targets);
  const result = await showDialog({
    title: 'Move to…',
    body,
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Move' })],
  });
  return result.button.accept ? result.value : null;
}
