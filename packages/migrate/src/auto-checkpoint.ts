/**
 * Auto-checkpoint: after a cell, once the kernel has been idle `idleMs`, checkpoint it in the
 * background (incrementally: unchanged groups are reused). A new cell preempts it: when the kernel
 * announces a cell (`execute_input`, from any client), the running checkpoint is aborted. The
 * checkpoint's consistent-cut check makes a save refuse a state that moved, and an aborted
 * checkpoint is never committed (its staging is discarded), so nothing half-written is ever read.
 *
 * Where the work runs: on kernels with subshells (JEP 91, ipykernel >= 7), the shim measures and
 * saves on a subshell of its own (a background lane, python-shim lane.py), so the next cell starts
 * at once, beside it; the lane stops within a few pickle writes or one chunk once a cell starts,
 * and what it produced is not committed. An interrupt from this client abandons it too. On older
 * kernels (or `lane: 'main'`), the work runs on the main shell between cells: a cell sent while the
 * shim is measuring or saving waits for that one request to finish.
 */
import type { JupyterMessage } from '@nbferry/protocol';
import type { Recorder } from '@nbferry/recorder';
import type { CheckpointStore } from '@nbferry/store';
import { checkpoint, type CheckpointOptions, type CheckpointResult } from './checkpoint.js';
import { StateChangedError } from './errors.js';
import { lastCheckpointOf } from './lineage.js';

export interface AutoCheckpointOptions extends Omit<CheckpointOptions, 'signal' | 'attempts' | 'subshellId'> {
  /** Idle time after a cell before checkpointing (default 500 ms). */
  idleMs?: number;
  /**
   * 'subshell' (default): on a kernel subshell when the kernel has them, else on the main shell;
   * 'main': always on the main shell between cells (the behaviour before subshells).
   */
  lane?: 'subshell' | 'main';
  onCheckpoint?: (result: CheckpointResult) => void;
  /** A checkpoint that failed for another reason than preemption (it is retried after the next cell). */
  onError?: (error: unknown) => void;
}

export interface AutoCheckpointStats {
  committed: number;
  /** Checkpoints preempted by a cell (aborted, or refused because the state moved): nothing committed. */
  abandoned: number;
  failed: number;
}

export class AutoCheckpointer {
  readonly stats: AutoCheckpointStats = { committed: 0, abandoned: 0, failed: 0 };
  private timer: NodeJS.Timeout | undefined;
  private running: { controller: AbortController; done: Promise<void> } | undefined;
  private stopped = false;
  /** The subshell the checkpoints run on (undefined: the main shell), once decided. */
  private subshell: Promise<string | undefined> | undefined;
  private subshellId: string | undefined;
  /** A cell finished while a checkpoint was running: checkpoint again when it is done. */
  private again = false;
  /** Operations replacing the kernel's state (undo, checkout) in progress: no checkpoint meanwhile. */
  private holds = 0;
  private readonly unsubscribe: () => void;

  /** Starts watching the recorder's kernel. */
  constructor(
    readonly recorder: Recorder,
    readonly store: CheckpointStore,
    private readonly options: AutoCheckpointOptions = {},
  ) {
    const offIopub = recorder.client.events.on('iopub', (msg) => this.onIopub(msg));
    const offInterrupt = recorder.client.events.on('interrupt', () => this.onInterrupt());
    // A restarted kernel has no subshells any more: make a new one next time.
    const offRestart = recorder.client.events.on('restarted', () => {
      this.subshell = undefined;
      this.subshellId = undefined;
    });
    this.unsubscribe = () => {
      offIopub();
      offInterrupt();
      offRestart();
    };
  }

  /** Where the checkpoints run: 'subshell' (beside the cells) or 'main'; undefined before the first one. */
  get lane(): 'subshell' | 'main' | undefined {
    if (!this.subshell) return undefined;
    return this.subshellId === undefined ? 'main' : 'subshell';
  }

  /** The last checkpoint committed from this kernel in this store (by this class or not). */
  get lastCheckpointId(): string | undefined {
    return lastCheckpointOf(this.recorder, this.store.root)?.id;
  }

  /** Checkpoints now if a cell ran since the last checkpoint; waits for it. */
  async flush(): Promise<void> {
    this.clearTimer();
    if (this.running) await this.running.done;
    await this.run();
  }

  /**
   * Runs `operation` (an undo, a checkout: anything that replaces the kernel's state) with no
   * auto-checkpoint beside it: one in flight is aborted first (nothing committed) and none starts
   * until it is done. Without this, a checkpoint of the state being replaced could commit after the
   * replacement and become the kernel's lineage point: the next incremental checkpoint would then
   * reuse its measurement of names the replacement deleted, and a restore would bring them back.
   */
  async hold<T>(operation: () => Promise<T>): Promise<T> {
    this.holds += 1;
    try {
      this.clearTimer();
      this.again = false;
      const running = this.running;
      if (running) {
        await this.preempt(running, 'preempted by a change of the whole state (undo or checkout)');
        await running.done;
      }
      return await operation();
    } finally {
      this.holds -= 1;
    }
  }

  /** Stops watching; an auto-checkpoint in flight is aborted (nothing committed). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe();
    this.clearTimer();
    this.running?.controller.abort(new Error('auto-checkpoint stopped'));
    await this.running?.done;
    const id = await this.subshell?.catch(() => undefined);
    if (id !== undefined && this.recorder.client.isAlive) {
      // Bounded: the close waits for the main shell to go idle (a running cell), or forever on a
      // kernel restarted under the same connection, which never had that lane.
      await this.recorder.closeLane(id, { timeoutMs: 5000 }).catch(() => {});
      await this.recorder.client.deleteSubshell(id, { timeoutMs: 5000 }).catch(() => {});
    }
  }

  /** This client interrupted the kernel: the user wants it now. SIGINT never reaches the lane's thread. */
  private onInterrupt(): void {
    if (this.stopped || !this.running) return;
    void this.preempt(this.running, 'preempted by an interrupt');
  }

  /** Aborts the running checkpoint; one on the lane is told too (the shim stops within a few writes). */
  private async preempt(running: { controller: AbortController }, reason: string): Promise<void> {
    running.controller.abort(new Error(reason));
    if (this.subshellId !== undefined) await this.recorder.request('preempt', {}, { timeoutMs: 10_000 }).catch(() => {});
  }

  private onIopub(msg: JupyterMessage): void {
    if (this.stopped || this.holds > 0) return;
    const type = msg.header.msg_type;
    if (type === 'execute_input') {
      // A cell is starting: it goes first.
      this.clearTimer();
      this.running?.controller.abort(new Error('preempted by a new cell'));
      return;
    }
    const parent = msg.parent_header as { msg_type?: string; subshell_id?: string | null } | undefined;
    // JupyterLab (4.4+) sends `subshell_id: null` for the main shell; only a set id is one of our lane's queries.
    const cellEnded = parent?.msg_type === 'execute_request' && (parent.subshell_id === undefined || parent.subshell_id === null);
    if (type === 'status' && (msg.content as { execution_state?: string }).execution_state === 'idle' && cellEnded) {
      this.clearTimer();
      this.timer = setTimeout(() => void this.run(), this.options.idleMs ?? 500);
      this.timer.unref();
    }
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private run(): Promise<void> {
    if (this.stopped || this.holds > 0) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running.done;
    }
    const controller = new AbortController();
    const done = this.checkpointIfMoved(controller.signal).finally(() => {
      this.running = undefined;
      if (this.again && !this.stopped) {
        this.again = false;
        this.clearTimer();
        this.timer = setTimeout(() => void this.run(), this.options.idleMs ?? 500);
        this.timer.unref();
      }
    });
    this.running = { controller, done };
    return done;
  }

  /** The subshell to checkpoint on, created the first time (undefined: the main shell). */
  private laneFor(signal: AbortSignal): Promise<string | undefined> {
    if (!this.subshell) {
      const created = (async () => {
        const client = this.recorder.client;
        try {
          if (this.options.lane === 'main' || !(await client.supportsSubshells({ signal, timeoutMs: 10_000 }))) return undefined;
          this.subshellId = await client.createSubshell({ signal, timeoutMs: 10_000 });
          return this.subshellId;
        } catch (error) {
          if (signal.aborted) throw error;
          return undefined; // a kernel that cannot say or cannot make one: the main shell, as before subshells
        }
      })();
      created.catch(() => {
        if (this.subshell === created) this.subshell = undefined; // aborted: ask again next time
      });
      this.subshell = created;
    }
    return this.subshell;
  }

  private async checkpointIfMoved(signal: AbortSignal): Promise<void> {
    try {
      const subshellId = await this.laneFor(signal);
      await this.recorder.sync({ signal, subshellId });
      const last = lastCheckpointOf(this.recorder, this.store.root);
      if (last?.seq !== undefined && last.seq === this.recorder.graph.lastSeq) return;
      const { idleMs: _idle, lane: _lane, onCheckpoint, onError: _onError, ...options } = this.options;
      const result = await checkpoint(this.recorder, this.store, { ...options, signal, attempts: 1, subshellId });
      this.stats.committed += 1;
      onCheckpoint?.(result);
    } catch (error) {
      if (signal.aborted || error instanceof StateChangedError) {
        this.stats.abandoned += 1;
        return;
      }
      this.stats.failed += 1;
      this.options.onError?.(error);
    }
  }
}
