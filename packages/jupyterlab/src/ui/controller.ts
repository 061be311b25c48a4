/**
 * Follows the current notebook's kernel: attaches it to nbferry, polls its protection state and
 * history, and runs one operation at a time on it. The widgets only render what it holds.
 */
import type { ISessionContext } from '@jupyterlab/apputils';
import { PathExt } from '@jupyterlab/coreutils';
import { type INotebookTracker, NotebookActions, type NotebookPanel } from '@jupyterlab/notebook';
import { Signal, type ISignal } from '@lumino/signaling';
import type { HistoryEntry } from '../model/api-types.js';
import { NbferryUiError } from '../model/errors.js';
import { type Action, type ActionContext, enablement, type Enablement } from '../model/actions.js';
import { KernelWatch } from '../model/kernel-watch.js';
import type { JobProgress } from '../model/jobs.js';
import {
  EMPTY_STATUS,
  applyAttached,
  applyError,
  applyKernelPoll,
  applyPlan,
  needsPlan,
  type StatusSnapshot,
} from '../model/status.js';
import { buildTimeline, undoTarget, type TimelineRow } from '../model/timeline.js';
import type { VerificationReport } from '../model/verification.js';
import { delay, type NbferryClient } from './client.js';

const POLL_MS = 3000;
/**
 * Attach again every this many polls even when nothing was seen: a kernel Jupyter restarted after
 * it died is a new process (new ports) under the same id, and the browser does not always hear of
 * the restart. Attaching is idempotent on the server side; it re-registers a new process.
 */
const REATTACH_EVERY_POLLS = 5;
/** After a cell runs, look again soon: the auto-checkpoint lands shortly after the kernel goes idle. */
const AFTER_CELL_MS = [700, 2000];

export interface Report {
  title: string;
  report: VerificationReport;
}

export class NbferryController {
  readonly client: NbferryClient;
  private readonly changedSignal = new Signal<this, void>(this);
  private session: ISessionContext | null = null;
  private jupyterKernelIdValue: string | null = null;
  private statusValue: StatusSnapshot = EMPTY_STATUS;
  private history: HistoryEntry[] = [];
  private selectedValue: string | null = null;
  private runningValue: Action | null = null;
  private progressValue: JobProgress | null = null;
  private reportValue: Report | null = null;
  /** Late answers about an old kernel or process are dropped; actions outlive a restart (kernel-watch.ts). */
  private readonly watch = new KernelWatch();
  private refreshing: { signal: AbortSignal; done: Promise<void> } | null = null;
  private disposed = false;

  constructor(client: NbferryClient, tracker: INotebookTracker) {
    this.client = client;
    tracker.currentChanged.connect((_, panel) => this.follow(panel));
    this.follow(tracker.currentWidget);
    NotebookActions.executed.connect((_, { notebook }) => {
      if (this.session !== null && tracker.currentWidget?.content === notebook) this.refreshSoon();
    });
    void this.pollLoop();
  }

  get changed(): ISignal<this, void> {
    return this.changedSignal;
  }
  get jupyterKernelId(): string | null {
    return this.jupyterKernelIdValue;
  }
  get nbferryId(): string | null {
    return this.statusValue.nbferryId;
  }
  get status(): StatusSnapshot {
    return this.statusValue;
  }
  get timeline(): TimelineRow[] {
    return buildTimeline(this.history, Date.now());
  }
  get selected(): string | null {
    return this.selectedValue;
  }
  get running(): Action | null {
    return this.runningValue;
  }
  get progress(): JobProgress | null {
    return this.progressValue;
  }
  get report(): Report | null {
    return this.reportValue;
  }

  select(checkpointId: string | null): void {
    this.selectedValue = checkpointId;
    this.changedSignal.emit();
  }

  enablement(action: Action, selected: string | null = this.selectedValue): Enablement {
    const rows = this.timeline;
    const context: ActionContext = {
      attached: this.statusValue.nbferryId !== null,
      running: this.runningValue,
      canUndo: undoTarget(rows) !== null,
      selected,
      hasCheckpoint: rows.length > 0 || this.statusValue.kernel?.lastCheckpoint !== undefined,
    };
    return enablement(action, context);
  }

  setProgress(progress: JobProgress | null): void {
    this.progressValue = progress;
    this.changedSignal.emit();
  }

  setReport(report: Report | null): void {
    this.reportValue = report;
    this.changedSignal.emit();
  }

  /**
   * Runs one operation on the watched kernel: the buttons are disabled meanwhile, the state is
   * refreshed afterwards whatever happened.
   */
  async run<T>(
    action: Action,
    body: (nbferryId: string, signal: AbortSignal) => Promise<T>,
    checkpointId: string | null = this.selectedValue,
  ): Promise<T> {
    const e = this.enablement(action, checkpointId);
    const id = this.statusValue.nbferryId;
    if (!e.enabled || id === null) throw new NbferryUiError(e.why || 'nbferry is not attached to this kernel', 'ACTION_UNAVAILABLE');
    this.runningValue = action;
    this.progressValue = null;
    this.changedSignal.emit();
    try {
      return await body(id, this.watch.actionSignal);
    } finally {
      this.runningValue = null;
      this.progressValue = null;
      this.changedSignal.emit();
      void this.refresh();
    }
  }

  /** Polls now: at most one poll in flight per watched kernel (one of a previous kernel does not count). */
  refresh(): Promise<void> {
    const signal = this.watch.pollSignal;
    if (this.refreshing !== null && this.refreshing.signal === signal) return this.refreshing.done;
    const done: Promise<void> = this.poll().finally(() => {
      if (this.refreshing?.done === done) this.refreshing = null;
    });
    this.refreshing = { signal, done };
    return done;
  }

  /** The current notebook's directory, relative to the server root ('' at the root or without a notebook). */
  get notebookDirectory(): string {
    const path = this.session?.path ?? '';
    return path === '' ? '' : PathExt.dirname(path);
  }

  dispose(): void {
    this.disposed = true;
    this.watch.dispose();
  }

  private follow(panel: NotebookPanel | null): void {
    this.session?.kernelChanged.disconnect(this.onKernelChanged, this);
    this.session?.statusChanged.disconnect(this.onKernelStatus, this);
    this.session = panel?.sessionContext ?? null;
    this.session?.kernelChanged.connect(this.onKernelChanged, this);
    this.session?.statusChanged.connect(this.onKernelStatus, this);
    this.rewatch();
  }

  private onKernelChanged(): void {
    this.rewatch();
  }

  /**
   * A restarted kernel is a new process under the same id: attach again (idempotent on the server
   * side) as soon as the restart is under way; until the new process answers, the attach fails and
   * the poll loop retries it.
   */
  private onKernelStatus(_: ISessionContext, status: string): void {
    console.debug(`nbferry: kernel status ${status}`);
    if (status === 'restarting' || status === 'autorestarting' || status === 'dead' || status === 'unknown') {
      this.needsReattach = true;
      return;
    }
    if (this.needsReattach && (status === 'starting' || status === 'idle' || status === 'busy')) {
      this.needsReattach = false;
      this.rewatch(true);
    }
  }
  private needsReattach = false;
  private pollsSinceAttach = 0;

  /** Starts over on the session's kernel; `reattach`: the same kernel id runs a new process. */
  private rewatch(reattach = false): void {
    const kernelId = this.session?.session?.kernel?.id ?? null;
    const changedKernel = kernelId !== this.jupyterKernelIdValue;
    if (changedKernel) this.watch.changed();
    else this.watch.restarted();
    this.jupyterKernelIdValue = kernelId;
    if (changedKernel) {
      this.statusValue = EMPTY_STATUS;
      this.history = [];
      this.selectedValue = null;
      this.reportValue = null;
    } else if (reattach) {
      // Keep the history on screen (the store outlives the process); the next poll attaches again.
      this.statusValue = { ...this.statusValue, nbferryId: null };
    }
    this.changedSignal.emit();
    // The first poll attaches (the poll loop retries it if the server side is not up yet).
    if (kernelId !== null) void this.refresh();
  }

  /** Registers the kernel with nbferry; answers its nbferry id, or null (the error is in the status). */
  private async attach(kernelId: string, signal: AbortSignal): Promise<string | null> {
    try {
      const attached = await this.client.attach(kernelId, signal);
      if (signal.aborted) return null;
      this.pollsSinceAttach = 0;
      this.statusValue = applyAttached(this.statusValue, attached.id);
      this.changedSignal.emit();
      return attached.id;
    } catch (error) {
      if (signal.aborted) return null;
      this.statusValue = applyError(this.statusValue, messageOf(error));
      this.changedSignal.emit();
      return null;
    }
  }

  private async poll(): Promise<void> {
    const signal = this.watch.pollSignal;
    const kernelId = this.jupyterKernelIdValue;
    if (kernelId === null) return;
    this.pollsSinceAttach += 1;
    const due = this.pollsSinceAttach >= REATTACH_EVERY_POLLS;
    const id = this.statusValue.nbferryId !== null && !due ? this.statusValue.nbferryId : await this.attach(kernelId, signal);
    if (id === null || signal.aborted) return;
    try {
      const [kernel, history] = await Promise.all([this.client.kernel(id, signal), this.client.history(id, signal)]);
      if (signal.aborted) return;
      this.statusValue = applyKernelPoll(this.statusValue, kernel, Date.now());
      this.history = history;
      if (this.selectedValue !== null && !history.some((h) => h.id === this.selectedValue)) this.selectedValue = null;
    } catch (error) {
      if (signal.aborted) return;
      this.statusValue = applyError(this.statusValue, messageOf(error));
    }
    this.changedSignal.emit();
    if (needsPlan(this.statusValue)) await this.fetchPlan(id, signal);
  }

  /** The plan is extra: a failure leaves the status as it is and is tried again at the next poll. */
  private async fetchPlan(id: string, signal: AbortSignal): Promise<void> {
    try {
      const plan = await this.client.plan(id, signal);
      if (signal.aborted) return;
      this.statusValue = applyPlan(this.statusValue, plan);
      this.changedSignal.emit();
    } catch (error) {
      if (!signal.aborted) console.debug('nbferry: plan unavailable', error);
    }
  }

  private refreshSoon(): void {
    for (const ms of AFTER_CELL_MS) {
      setTimeout(() => void this.refresh(), ms);
    }
  }

  private async pollLoop(): Promise<void> {
    while (!this.disposed) {
      try {
        await delay(POLL_MS);
        // A hidden tab does not need fresh numbers; the first poll after it shows again catches up.
        if (typeof document !== 'undefined' && document.hidden) continue;
        await this.refresh();
      } catch (error) {
        console.warn('nbferry: poll failed', error);
      }
    }
  }
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
