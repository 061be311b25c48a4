/**
 * Auto-checkpoint: after a cell, once the kernel has been idle `idleMs`, checkpoint it in the
 * background (incrementally: unchanged groups are reused). A new cell preempts it: when the kernel
 * announces a cell (`execute_input`, from any client), the running checkpoint is aborted. The
 * checkpoint's consistent-cut check makes a save refuse a state that moved, and an aborted
 * checkpoint is never committed (its staging is discarded), so nothing half-written is ever read.
 *
 * What preemption cannot do: the kernel runs one request at a time, so a cell sent while the shim
 * is measuring or saving waits for that one request to finish (its groups are saved in one
 * request). ipykernel 7 subshells could run the save beside the cell; not used yet.
 */
import type { JupyterMessage } from '@nbferry/protocol';
import type { Recorder } from '@nbferry/recorder';
import type { CheckpointStore } from '@nbferry/store';
import { checkpoint, type CheckpointOptions, type CheckpointResult } from './checkpoint.js';
import { StateChangedError } from './errors.js';
import { lastCheckpointOf } from './lineage.js';

export interface AutoCheckpointOptions extends Omit<CheckpointOptions, 'signal' | 'attempts'> {
  /** Idle time after a cell before checkpointing (default 500 ms). */
  idleMs?: number;
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
  /** A cell finished while a checkpoint was running: checkpoint again when it is done. */
  private again = false;
  private readonly unsubscribe: () => void;

  /** Starts watching the recorder's kernel. */
  constructor(
    readonly recorder: Recorder,
    readonly store: CheckpointStore,
    private readonly options: AutoCheckpointOptions = {},
  ) {
    this.unsubscribe = recorder.client.events.on('iopub', (msg) => this.onIopub(msg));
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

  /** Stops watching; an auto-checkpoint in flight is aborted (nothing committed). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe();
    this.clearTimer();
    this.running?.controller.abort(new Error('auto-checkpoint stopped'));
    await this.running?.done;
  }

  private onIopub(msg: JupyterMessage): void {
    if (this.stopped) return;
    const type = msg.header.msg_type;
    if (type === 'execute_input') {
      // A cell is starting: it goes first.
      this.clearTimer();
      this.running?.controller.abort(new Error('preempted by a new cell'));
      return;
    }
    const parent = (msg.parent_header as { msg_type?: string } | undefined)?.msg_type;
    if (type === 'status' && (msg.content as { execution_state?: string }).execution_state === 'idle' && parent === 'execute_request') {
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
    if (this.stopped) return Promise.resolve();
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

  private async checkpointIfMoved(signal: AbortSignal): Promise<void> {
    try {
      await this.recorder.sync({ signal });
      const last = lastCheckpointOf(this.recorder, this.store.root);
      if (last?.seq !== undefined && last.seq === this.recorder.graph.lastSeq) return;
      const { idleMs: _idle, onCheckpoint, onError: _onError, ...options } = this.options;
      const result = await checkpoint(this.recorder, this.store, { ...options, signal, attempts: 1 });
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
