/**
 * A kernel the service watches: its recorder, the store its checkpoints go to, its protection
 * state (last checkpoint, what cannot be saved) and its auto-checkpoint policy. Operations on one
 * kernel run one at a time (the kernel serves one shim request at a time anyway).
 */
import { checkpointOverWire } from '@nbferry/jupyter-server';
import {
  AutoCheckpointer,
  CheckpointLossError,
  checkout,
  checkpoint,
  lastCheckpointOf,
  undo,
  type CheckpointOptions,
  type CheckpointBody,
  type CheckpointResult,
  type ProgressListener,
} from '@nbferry/migrate';
import { KernelClosedError } from '@nbferry/kernel';
import type { Recorder } from '@nbferry/recorder';
import { LocalStore, type CheckpointStore } from '@nbferry/store';
import { checkoutOutcome, type CheckoutOutcome } from './checkout-outcome.js';
import { BadRequestError, CheckpointDeadlineError, NotLocalKernelError, RemoteStoreUnsupportedError } from './errors.js';
import type { LivenessProbe } from './liveness.js';
import { cgroupMemoryLimit, residentBytes } from './memory-limit.js';
import type { ServiceMetrics, Trigger } from './metrics.js';
import type { StandbyKernel, StandbyView } from './standby-kernel.js';

export interface MemoryPolicy {
  /** The memory the kernel may use (default: its cgroup's memory.max). */
  limitBytes?: number;
  /** Checkpoint once resident memory passes this fraction of the limit (default 0.85). */
  thresholdFraction?: number;
  /** How often to read the kernel's memory (default 1000 ms). */
  intervalMs?: number;
}

interface MemoryWatch extends MemoryPolicy {
  limitBytes: number;
  source: 'cgroup' | 'configured';
  rssBytes?: number;
  checkpoints: number;
  timer: NodeJS.Timeout;
}

export type KernelSource =
  | { kind: 'connection-file'; connectionFile: string }
  | { kind: 'jupyter-server'; baseUrl: string; kernelId: string }
  /** Started by this service (a restore or migration target); left running when the service stops. */
  | { kind: 'started'; connectionFile: string; from: string };

export interface CheckpointSummary {
  id: string;
  createdAt: string;
  /** What wrote it; `restored`: this kernel did not write it, it was brought back to it (undo, checkout). */
  trigger: Trigger | 'restored';
  /** Bytes the checkpoint added to the store, and its blobs' total. */
  newBytes: number;
  totalBytes: number;
  durationMs: number;
  /** Variables it could not bring back (a checkpoint that would lose some is refused unless allowed). */
  unrecoverable: { name: string; reason: string }[];
  deadlineMissed?: boolean;
}

export interface KernelState {
  id: string;
  source: KernelSource;
  store: string;
  registeredAt: string;
  /** The kernel's process id (on its own machine). */
  pid: number;
  /** `installed`: recording since its first cell (kernelspec); `injected`: attached later. */
  shim: 'installed' | 'injected';
  /** Variables that were there before recording started: no recorded cell can recompute them. */
  unknownProvenance: string[];
  lastCell: number;
  lastCheckpoint?: CheckpointSummary;
  /** The latest checkpoint holds the current state (no cell since) and lost nothing. */
  protected: boolean;
  /** Variables the last checkpoint attempt found it could not save nor recompute, with why. */
  unsaveable: { name: string; reason: string }[];
  lastError?: { at: string; code?: string; message: string };
  autoCheckpoint: { enabled: boolean; idleMs?: number; committed: number; abandoned: number; failed: number };
  memoryWatch: {
    enabled: boolean;
    limitBytes?: number;
    limitSource?: 'cgroup' | 'configured';
    thresholdFraction?: number;
    /** Resident memory at the last reading. */
    rssBytes?: number;
    checkpoints?: number;
  };
  /** Its standby (`nbferry serve --standby`, while auto-checkpointing into a directory store): absent when it has none. */
  standby?: StandbyView;
}

export interface KernelCheckpointOptions {
  trigger: Trigger;
  deadlineMs?: number;
  allowLoss?: boolean;
  signal?: AbortSignal;
  onProgress?: ProgressListener;
}

export class RegisteredKernel {
  readonly registeredAt = new Date().toISOString();
  lastCheckpoint?: CheckpointSummary;
  unsaveable: { name: string; reason: string }[] = [];
  lastError?: KernelState['lastError'];
  private auto?: { checkpointer: AutoCheckpointer; idleMs: number };
  private memory?: MemoryWatch;
  private queue: Promise<unknown> = Promise.resolve();
  /**
   * Set by a service with standbys (`--standby`): starts one for this kernel. Called when its
   * auto-checkpoint is turned on, which needs a directory store and a kernel on this machine.
   */
  startStandby?: (store: LocalStore) => StandbyKernel;
  private standby?: StandbyKernel;

  constructor(
    readonly id: string,
    readonly source: KernelSource,
    readonly recorder: Recorder,
    /** A directory (LocalStore) or an object store (`s3://`: chunks go through the service). */
    readonly store: CheckpointStore,
    readonly storeName: string,
    private readonly metrics: ServiceMetrics,
    /** Lets go of the kernel (detach: it keeps running). */
    private readonly release: () => Promise<void>,
    /** Says why the kernel is not running (undefined: it runs, or nobody can tell). */
    private readonly probe: LivenessProbe = async () => (recorder.client.isAlive ? undefined : 'its connection reports it dead'),
  ) {
    // The shim sends a cell's record once its read checks are done, after the cell's idle status:
    // until then the kernel must not look protected. Every client's cell is announced on iopub.
    this.offIopub = recorder.client.events.on('iopub', (msg) => {
      if (msg.header.msg_type === 'execute_input') this.cellAfterSeq = recorder.graph.lastSeq;
    });
  }

  /** The history position when the last cell started (its record may still be on its way). */
  private cellAfterSeq: number | undefined;
  private readonly offIopub: () => void;

  /** Why the kernel is not running any more (killed, its server gone), or undefined when it runs. */
  whyNotRunning(): Promise<string | undefined> {
    return this.probe();
  }

  /** Runs `operation` after every operation queued before it on this kernel. */
  exclusive<T>(operation: () => Promise<T>): Promise<T> {
    const run = this.queue.then(operation, operation);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** The kernel's process id when it runs on this machine (for memory and value estimates). */
  get localPid(): number | undefined {
    return this.source.kind === 'jupyter-server' ? undefined : this.recorder.hello.pid;
  }

  checkpoint(options: KernelCheckpointOptions): Promise<CheckpointSummary> {
    return this.exclusive(() => this.checkpointNow(options));
  }

  /**
   * Brings this same kernel back to a checkpoint of its store (undo: the last one if a cell ran
   * since, else its parent), reloading or recomputing only what differs, and verifies it.
   */
  async restoreInPlace(checkpointId: string | undefined, options: { timeoutMs?: number; onProgress?: ProgressListener } = {}): Promise<CheckoutOutcome> {
    // The kernel reads the store's files itself: it must run on this machine.
    if (this.source.kind === 'jupyter-server') throw new NotLocalKernelError(this.id, checkpointId === undefined ? 'undo' : 'checkout');
    const store = this.store;
    if (!(store instanceof LocalStore)) throw new RemoteStoreUnsupportedError(store.root, checkpointId === undefined ? 'undo' : 'checkout');
    return this.exclusive(async () => {
      const started = performance.now();
      const replace = () => (checkpointId === undefined ? undo(this.recorder, store, options) : checkout(this.recorder, store, checkpointId, options));
      // No auto-checkpoint of the state being replaced may commit beside (or after) the replacement.
      const report = this.auto ? await this.auto.checkpointer.hold(replace) : await replace();
      const totalMs = performance.now() - started;
      // The kernel now holds that checkpoint's state: it is its last checkpoint (and plan) from here on.
      const { manifest } = await this.store.open<CheckpointBody>(report.checkpointId);
      const totalBytes = manifest.stats?.totalBytes ?? manifest.blobs.reduce((sum, blob) => sum + blob.bytes, 0);
      this.lastCheckpoint = { id: manifest.id, createdAt: manifest.createdAt, trigger: 'restored', newBytes: 0, totalBytes, durationMs: Math.round(totalMs), unrecoverable: manifest.body.unrecoverable };
      this.unsaveable = manifest.body.unrecoverable;
      this.standby?.offer(manifest.id);
      return checkoutOutcome(report, totalMs);
    });
  }

  private async checkpointNow({ trigger, deadlineMs, allowLoss, signal, onProgress }: KernelCheckpointOptions): Promise<CheckpointSummary> {
    const options: CheckpointOptions = { deadlineMs, signal, refuseLoss: !allowLoss, onProgress };
    try {
      // A kernel elsewhere cannot write into this machine's directory: its blobs come in replies. An
      // object store's chunks go through the service whatever the kernel (checkpoint does that).
      const store = this.store;
      const result = this.source.kind === 'jupyter-server' && store instanceof LocalStore ? await checkpointOverWire(this.recorder, store, options) : await checkpoint(this.recorder, store, options);
      return this.committed(result, trigger);
    } catch (error) {
      const outcome = error instanceof CheckpointLossError ? 'refused' : signal?.aborted ? 'aborted' : 'failed';
      this.metrics.checkpoints.inc({ trigger, outcome });
      if (outcome === 'failed') this.metrics.failures.inc({ operation: 'checkpoint' });
      if (error instanceof CheckpointLossError) this.unsaveable = error.unrecoverable;
      const typed = outcome === 'aborted' && deadlineMs !== undefined ? new CheckpointDeadlineError(this.id, deadlineMs, { cause: error }) : error;
      this.noteError(typed);
      throw typed;
    }
  }

  private committed(result: CheckpointResult, trigger: Trigger): CheckpointSummary {
    const durationMs = result.timings.totalMs;
    const { manifest } = result.checkpoint;
    const totalBytes = manifest.stats?.totalBytes ?? manifest.blobs.reduce((sum, blob) => sum + blob.bytes, 0);
    const summary: CheckpointSummary = {
      id: manifest.id,
      createdAt: manifest.createdAt,
      trigger,
      newBytes: manifest.stats?.newBytes ?? totalBytes,
      totalBytes,
      durationMs: Math.round(durationMs),
      unrecoverable: manifest.body.unrecoverable,
      ...(result.deadlineMissed ? { deadlineMissed: true } : {}),
    };
    this.lastCheckpoint = summary;
    this.unsaveable = summary.unrecoverable;
    this.metrics.checkpoints.inc({ trigger, outcome: 'committed' });
    this.metrics.checkpointBytes.inc({ trigger }, summary.newBytes);
    this.metrics.checkpointSeconds.observe({ trigger }, durationMs / 1000);
    if (summary.unrecoverable.length > 0) this.metrics.lostVariables.inc({ operation: 'checkpoint' }, summary.unrecoverable.length);
    this.standby?.offer(summary.id);
    return summary;
  }

  noteError(error: unknown): void {
    const e = error as { code?: unknown; message?: unknown };
    this.lastError = { at: new Date().toISOString(), code: typeof e.code === 'string' ? e.code : undefined, message: String(e.message ?? error) };
  }

  /** Auto-checkpoint after each cell once the kernel is idle `idleMs` (off: undefined). */
  async setAutoCheckpoint(idleMs: number | undefined): Promise<void> {
    await this.auto?.checkpointer.stop();
    this.auto = undefined;
    if (idleMs === undefined) {
      await this.takeStandby()?.close();
      return;
    }
    // Auto-checkpoints run on the kernel's background lane, which saves into files only: into an
    // object store (chunks through the service) they would fail whenever the lane serves them.
    if (!(this.store instanceof LocalStore)) throw new RemoteStoreUnsupportedError(this.store.root, 'auto-checkpoint (the kernel saves into files in the background)');
    // Auto-checkpoints have the kernel write into the store's path itself: on a server elsewhere
    // that would be its own disk. (Explicit and notice checkpoints of such kernels go over the wire.)
    if (this.source.kind === 'jupyter-server') throw new NotLocalKernelError(this.id, 'auto-checkpoint (the kernel writes the store itself)');
    const checkpointer = new AutoCheckpointer(this.recorder, this.store, {
      idleMs,
      onCheckpoint: (result) => this.committed(result, 'auto'),
      onError: (error) => {
        this.metrics.checkpoints.inc({ trigger: 'auto', outcome: 'failed' });
        this.metrics.failures.inc({ operation: 'checkpoint' });
        this.noteError(error);
      },
    });
    this.auto = { checkpointer, idleMs };
    if (this.standby?.failed) await this.takeStandby()?.close(); // turning it on again replaces a dead standby
    if (!this.standby && this.startStandby) {
      this.standby = this.startStandby(this.store);
      // It follows from the checkpoint the kernel is at, if any; the next ones are offered as they commit.
      if (this.lastCheckpoint) this.standby.offer(this.lastCheckpoint.id);
    }
  }

  /** The kernel's standby, if it has one (see takeStandby). */
  get standbyKernel(): StandbyKernel | undefined {
    return this.standby;
  }

  /** Takes the kernel's standby away from it (a migration uses or drops it; the kernel has none after). */
  takeStandby(): StandbyKernel | undefined {
    const standby = this.standby;
    this.standby = undefined;
    return standby;
  }

  /** Its standby's kernel runs (for the standby gauge). */
  get hasRunningStandby(): boolean {
    return this.standby?.running ?? false;
  }

  /** Runs `operation` (a checkpoint of the whole state for a migration) with no auto-checkpoint beside it. */
  withoutAutoCheckpoint<T>(operation: () => Promise<T>): Promise<T> {
    return this.auto ? this.auto.checkpointer.hold(operation) : operation();
  }

  /**
   * With auto-checkpoint on, checkpoints now if cells ran that no checkpoint holds (a kernel
   * recorded from its first cell but registered after it ran some: nothing else would checkpoint
   * them before the next cell). In the background; a failure is counted and kept in lastError.
   */
  catchUp(): void {
    if (this.auto && this.recorder.graph.lastSeq > 0 && !this.isProtected) void this.auto.checkpointer.flush().catch((error: unknown) => this.noteError(error));
  }

  get isProtected(): boolean {
    const point = lastCheckpointOf(this.recorder, this.store.root);
    const lastSeq = this.recorder.graph.lastSeq;
    const recordPending = this.cellAfterSeq !== undefined && this.cellAfterSeq >= lastSeq;
    return point?.seq !== undefined && point.seq >= lastSeq && !recordPending && point.manifest.body.unrecoverable.length === 0;
  }

  state(): KernelState {
    const stats = this.auto?.checkpointer.stats ?? { committed: 0, abandoned: 0, failed: 0 };
    return {
      id: this.id,
      source: this.source,
      store: this.storeName,
      registeredAt: this.registeredAt,
      pid: this.recorder.hello.pid,
      shim: this.recorder.shimOrigin,
      unknownProvenance: this.recorder.hello.unknownProvenance,
      lastCell: this.recorder.graph.lastSeq,
      ...(this.lastCheckpoint ? { lastCheckpoint: this.lastCheckpoint } : {}),
      protected: this.isProtected,
      unsaveable: this.unsaveable,
      ...(this.lastError ? { lastError: this.lastError } : {}),
      autoCheckpoint: { enabled: this.auto !== undefined, ...(this.auto ? { idleMs: this.auto.idleMs } : {}), ...stats },
      memoryWatch: this.memory
        ? {
            enabled: true,
            limitBytes: this.memory.limitBytes,
            limitSource: this.memory.source,
            thresholdFraction: this.memory.thresholdFraction ?? 0.85,
            ...(this.memory.rssBytes !== undefined ? { rssBytes: this.memory.rssBytes } : {}),
            checkpoints: this.memory.checkpoints,
          }
        : { enabled: false },
      ...(this.standby ? { standby: this.standby.view() } : {}),
    };
  }

  /** Resident memory of the kernel's process (bytes), when it runs here; else undefined. */
  async residentBytes(): Promise<number | undefined> {
    return this.localPid === undefined ? undefined : residentBytes(this.localPid);
  }

  /**
   * Right-sizing: every `intervalMs`, if the kernel's resident memory is past `thresholdFraction`
   * of its limit (`limitBytes`, else its cgroup's) and its state is not already in a checkpoint,
   * checkpoint it (allowing loss: before an OOM kill, what can be saved is better than nothing).
   * The kernel answers between cells, so the checkpoint holds the state after the cell that
   * crossed the line, before the next one (the one that may be killed) runs.
   */
  async setMemoryWatch(policy: MemoryPolicy | undefined): Promise<void> {
    if (this.memory) clearInterval(this.memory.timer);
    this.memory = undefined;
    if (!policy) return;
    if (this.localPid === undefined) throw new NotLocalKernelError(this.id, 'watching its memory');
    const limitBytes = policy.limitBytes ?? (await cgroupMemoryLimit(this.localPid));
    if (limitBytes === undefined) {
      throw new BadRequestError(`kernel "${this.id}" has no memory limit in its cgroup: give limitBytes (the memory it may use)`);
    }
    const watch: MemoryWatch = { ...policy, limitBytes, source: policy.limitBytes === undefined ? 'cgroup' : 'configured', checkpoints: 0, timer: undefined! };
    const thresholdBytes = limitBytes * (policy.thresholdFraction ?? 0.85);
    let busy = false;
    watch.timer = setInterval(() => {
      if (busy) return;
      busy = true;
      void (async () => {
        watch.rssBytes = await this.residentBytes();
        if (watch.rssBytes === undefined || watch.rssBytes < thresholdBytes || this.isProtected) return;
        await this.checkpoint({ trigger: 'memory', allowLoss: true });
        watch.checkpoints += 1;
      })()
        .catch(() => {}) // counted and kept in lastError by checkpoint()
        .finally(() => (busy = false));
    }, policy.intervalMs ?? 1000);
    watch.timer.unref();
    this.memory = watch;
  }

  async close(): Promise<void> {
    // A kernel whose process is gone (killed; Jupyter may already run its restart on the same
    // ports, which knows nothing of our requests): its connection is marked dead first, so that
    // queued and in-flight work (a checkpoint, the lane's close) fails at once instead of waiting.
    const gone = await this.whyNotRunning().catch(() => undefined);
    if (gone !== undefined) this.recorder.client.fail(new KernelClosedError(`kernel "${this.id}" unregistered (${gone})`));
    this.offIopub();
    await this.setMemoryWatch(undefined);
    await this.setAutoCheckpoint(undefined);
    await this.queue;
    await this.release();
    this.store.close?.();
  }
}
