/**
 * A registered kernel's standby (`nbferry serve --standby`): a second kernel, prepared as a warm
 * pool's, that follows the kernel's checkpoints in its directory store (migrate's Standby: each
 * catch-up a verified checkout), so that a migration here moves only what changed since the last
 * catch-up instead of the whole state into a fresh kernel.
 *
 * It starts in the background (from the warm pool when one is ready, else launched) and never
 * blocks a request: checkpoints offered meanwhile are remembered and the newest is caught up with
 * once it runs. Until a migration adopts it (`release`), it is the service's: `close` shuts its
 * kernel down (unregister, auto-checkpoint off, service stop). It costs a whole kernel's memory.
 */
import { resolve } from 'node:path';
import type { Kernel } from '@nbferry/kernel';
import { Standby, type WarmKernel } from '@nbferry/migrate';
import type { LocalStore } from '@nbferry/store';
import type { KernelFrom } from './fresh-kernel.js';
import { localProcessProbe } from './liveness.js';

/** What GET /kernels/{id} shows of a kernel's standby. */
export interface StandbyView {
  /** Its kernel's process id; null while it starts (or when it failed to start). */
  pid: number | null;
  /** Where its kernel came from (null while it starts). */
  kernelFrom: Exclude<KernelFrom, 'standby'> | null;
  /** The checkpoint it holds, verified (null: none yet, or its last catch-up failed). */
  syncedCheckpoint: string | null;
  /** Why its last catch-up (or its start) failed; null when it did not. */
  lastError: string | null;
}

type StartedKernel = WarmKernel & { from: Exclude<KernelFrom, 'standby'> };

/** Where a standby's kernel runs: its Python and (absolute) working directory. */
export interface StandbyPlacement {
  python: string;
  cwd: string;
}

export class StandbyKernel {
  private started?: StartedKernel;
  private following?: Standby;
  private startError?: unknown;
  /** The newest checkpoint offered before the kernel was ready. */
  private wanted?: string;
  private closed = false;
  /** Aborts a start still under way when the standby is closed (close does not wait for a whole kernel start). */
  private readonly abort = new AbortController();
  /** Settles (never rejects) once the kernel started or failed to. */
  private readonly starting: Promise<void>;

  constructor(
    readonly placement: StandbyPlacement,
    start: (signal: AbortSignal) => Promise<StartedKernel>,
    readonly store: LocalStore,
    /** A start or a catch-up failed (for metrics; the view keeps the message). Not called once closed. */
    private readonly onError: (error: unknown) => void,
    catchUpTimeoutMs?: number,
  ) {
    this.starting = start(this.abort.signal).then(
      async (started) => {
        if (this.closed) {
          await started.kernel.dispose().catch(() => {});
          return;
        }
        this.started = started;
        this.following = new Standby(started.prepared.recorder, store, {
          checkout: catchUpTimeoutMs === undefined ? {} : { timeoutMs: catchUpTimeoutMs },
          onError: (error) => {
            if (!this.closed) this.onError(error);
          },
        });
        if (this.wanted !== undefined) this.following.offer(this.wanted);
      },
      (error: unknown) => {
        this.startError = error;
        if (!this.closed) this.onError(error);
      },
    );
  }

  /** Its kernel runs (started, not closed, not released). */
  get running(): boolean {
    return this.started !== undefined && !this.closed && this.started.kernel.client.isAlive;
  }

  /** Its kernel failed to start or died: it will never be usable (turning auto-checkpoint on again replaces it). */
  get failed(): boolean {
    return this.startError !== undefined || (this.started !== undefined && !this.started.kernel.client.isAlive);
  }

  /** Why a kernel asked for with this Python and directory would not be this standby's (undefined: it would). */
  placedElsewhere(wanted: { python: string; cwd?: string }): string | undefined {
    if (wanted.python !== this.placement.python) return `the request asks for another Python (${wanted.python}) than the standby's (${this.placement.python})`;
    const cwd = resolve(wanted.cwd ?? process.cwd());
    if (cwd !== this.placement.cwd) return `the request asks for another working directory (${cwd}) than the standby's (${this.placement.cwd})`;
    return undefined;
  }

  /** Catch up with this checkpoint of the store, in the background (when the kernel is ready). */
  offer(checkpointId: string): void {
    this.wanted = checkpointId;
    this.following?.offer(checkpointId);
  }

  /**
   * Why a migration cannot use the standby now (undefined: it can): still starting or failed to,
   * never caught up, its last catch-up failed, or its kernel is gone.
   */
  async unusable(): Promise<string | undefined> {
    if (this.closed) return 'it was shut down';
    if (this.startError !== undefined) return `its kernel failed to start (${messageOf(this.startError)})`;
    const { started, following } = this;
    if (!started || !following) return 'its kernel is still starting';
    const dead = await localProcessProbe(started.kernel.client, started.prepared.recorder.hello.pid)();
    if (dead !== undefined) return `its kernel is not running (${dead})`;
    if (following.lastError !== undefined) return `its last catch-up failed (${messageOf(following.lastError)})`;
    if (following.syncedId === undefined) return 'it has not caught up with any checkpoint yet';
    return undefined;
  }

  /** The Standby following the store, to migrate into (after `unusable()` said it can be used). */
  get follower(): Standby | undefined {
    return this.following;
  }

  /** Hands the kernel over (a migration adopted it): `close` no longer shuts it down. Undefined: it is not running (closed). */
  release(): Kernel | undefined {
    if (!this.started || this.closed) return undefined;
    const { kernel } = this.started;
    this.closed = true;
    this.started = undefined;
    return kernel;
  }

  view(): StandbyView {
    const dead = this.started && !this.started.kernel.client.isAlive ? new Error('its kernel is not running') : undefined;
    const error = this.startError ?? dead ?? this.following?.lastError;
    return {
      pid: this.started ? this.started.prepared.recorder.hello.pid : null,
      kernelFrom: this.started?.from ?? null,
      syncedCheckpoint: this.following?.syncedId ?? null,
      lastError: error === undefined ? null : messageOf(error),
    };
  }

  /** Shuts the standby kernel down (one still starting is aborted); nothing is left running. */
  async close(): Promise<void> {
    this.closed = true;
    this.abort.abort(new Error('the standby was shut down'));
    await this.starting;
    const started = this.started;
    this.started = undefined;
    if (started) await started.kernel.dispose().catch(() => {});
    // A catch-up in flight fails with the kernel gone: wait for it so nothing outlives the close.
    await this.following?.idle();
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
