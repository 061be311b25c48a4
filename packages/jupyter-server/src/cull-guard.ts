/**
 * Culling hook: checkpoint kernels shortly before a Jupyter Server culls them for idleness, so that
 * `restoreOnReturn` can bring the user's state back when they come back.
 *
 * The server culls a kernel once `now - last_activity > cull_idle_timeout` (checked every
 * `cull_interval`), unless it is busy (`cull_busy` off) or has connections (`cull_connected` off).
 * The guard polls `GET /api/kernels`, and for each kernel the server would cull within `marginMs`
 * it connects, records (injects the shim), checkpoints over the websocket into the coordinator's
 * store (a directory, or an object store `s3://...` that any later server can restore from), and
 * disconnects. Checkpointing is kernel activity, so it postpones the cull by one idle
 * period; the guard remembers the `last_activity` its own visit left and does not come back until
 * something else has used the kernel. Then the server culls the kernel as it would have.
 *
 * Give the guard the server's culling settings (they are not exposed over REST). Server and
 * coordinator clocks must agree to well within `marginMs`.
 */
import { join } from 'node:path';
import type { CallOptions } from '@nbferry/kernel';
import { checkpoint, type CheckpointOptions } from '@nbferry/migrate';
import { Recorder } from '@nbferry/recorder';
import { LocalStore, openStore, storeScheme } from '@nbferry/store';
import { ServerApi, type KernelModel, type ServerInfo, type SessionModel } from './server-api.js';
import { connectServerKernel, type ServerKernelOptions } from './server-kernel.js';
import { checkpointOverWire } from './remote-checkpoint.js';

export interface CullGuardOptions {
  server: ServerInfo | ServerApi;
  /** Checkpoints go to `<storeRoot>/<session path or kernel id>/` (see `guardStoreDir`); a directory or a store URL (`s3://bucket/prefix`). */
  storeRoot: string;
  /** The server's `MappingKernelManager.cull_idle_timeout`, in seconds. */
  cullIdleTimeoutSec: number;
  /** The server's `cull_connected` (default false: kernels with connections are never culled). */
  cullConnected?: boolean;
  /** The server's `cull_busy` (default false: busy kernels are never culled). */
  cullBusy?: boolean;
  /** Checkpoint when the cull is this close (default: 3 poll intervals, at least 2 s). */
  marginMs?: number;
  /** How often to look at the kernels (default 5 s). */
  pollMs?: number;
  /** Passed to each checkpoint (deadline, costs, per-request timeout). */
  checkpoint?: Omit<CheckpointOptions, 'signal' | 'onProgress'>;
  connection?: Omit<ServerKernelOptions, keyof CallOptions>;
  onCheckpoint?: (event: GuardCheckpoint) => void;
  /** A kernel that could not be checkpointed (the guard keeps going). Default: ignored. */
  onError?: (error: Error, kernel: KernelModel) => void;
}

export interface GuardCheckpoint {
  kernelId: string;
  kernelName: string;
  /** The notebook path of the kernel's session, when it has one. */
  sessionPath?: string;
  /** The store holding the checkpoint (its LATEST); pass it to restoreOnReturn. */
  storeDir: string;
  checkpointDir: string;
  /** The kernel's last activity before the guard's visit. */
  idleSince: string;
}

/** The store directory the guard uses for a session path (or a kernel without a session). */
export function guardStoreDir(storeRoot: string, target: { sessionPath?: string; kernelId: string }): string {
  const name = target.sessionPath !== undefined ? `session-${encodeURIComponent(target.sessionPath)}` : `kernel-${target.kernelId}`;
  // A URL root (`s3://bucket/prefix`) gets the name as one more key segment; path.join would fold `//`.
  return storeScheme(storeRoot) === undefined ? join(storeRoot, name) : `${storeRoot.replace(/\/+$/, '')}/${name}`;
}

export class CullGuard {
  readonly api: ServerApi;
  /** The newest checkpoint per kernel id. */
  readonly checkpoints = new Map<string, GuardCheckpoint>();
  private readonly visited = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private readonly stopping = new AbortController();
  private readonly pollMs: number;
  private readonly marginMs: number;

  constructor(private readonly options: CullGuardOptions) {
    this.api = options.server instanceof ServerApi ? options.server : new ServerApi(options.server);
    this.pollMs = options.pollMs ?? 5000;
    this.marginMs = options.marginMs ?? Math.max(2000, 3 * this.pollMs);
    if (options.cullIdleTimeoutSec * 1000 <= this.marginMs) {
      throw new RangeError(`cullIdleTimeoutSec (${options.cullIdleTimeoutSec} s) must exceed the margin (${this.marginMs} ms)`);
    }
  }

  /** Starts polling every `pollMs`. */
  start(): void {
    if (this.timer || this.stopping.signal.aborted) return;
    const tick = () => {
      this.running = this.checkOnce().catch(() => {});
      void this.running.finally(() => {
        if (!this.stopping.signal.aborted) this.timer = setTimeout(tick, this.pollMs);
      });
    };
    this.timer = setTimeout(tick, 0);
  }

  /** Stops polling; a checkpoint in progress is aborted (and discarded). */
  async stop(): Promise<void> {
    this.stopping.abort(new Error('cull guard stopped'));
    clearTimeout(this.timer);
    await this.running;
  }

  /** One look at the server's kernels: checkpoints those about to be culled. */
  async checkOnce(): Promise<GuardCheckpoint[]> {
    const signal = this.stopping.signal;
    const [kernels, sessions] = await Promise.all([this.api.listKernels({ signal }), this.api.listSessions({ signal })]);
    for (const id of this.visited.keys()) if (!kernels.some((k) => k.id === id)) this.visited.delete(id);
    const done: GuardCheckpoint[] = [];
    for (const kernel of kernels.filter((k) => this.dueSoon(k))) {
      if (signal.aborted) break;
      try {
        done.push(await this.checkpoint(kernel, sessions.find((s) => s.kernel?.id === kernel.id)));
      } catch (error) {
        if (!signal.aborted) this.options.onError?.(error as Error, kernel);
      }
    }
    return done;
  }

  private dueSoon(kernel: KernelModel): boolean {
    if (!kernel.last_activity || kernel.execution_state === 'starting' || kernel.execution_state === 'dead') return false;
    if (this.visited.get(kernel.id) === kernel.last_activity) return false;
    if (!this.options.cullConnected && (kernel.connections ?? 0) > 0) return false;
    if (!this.options.cullBusy && kernel.execution_state === 'busy') return false;
    const idleMs = Date.now() - Date.parse(kernel.last_activity);
    return Number.isFinite(idleMs) && idleMs >= this.options.cullIdleTimeoutSec * 1000 - this.marginMs;
  }

  private async checkpoint(kernel: KernelModel, session: SessionModel | undefined): Promise<GuardCheckpoint> {
    const signal = this.stopping.signal;
    const storeDir = guardStoreDir(this.options.storeRoot, { sessionPath: session?.path, kernelId: kernel.id });
    const connected = await connectServerKernel(this.api, kernel.id, { ...this.options.connection, signal });
    let checkpointDir: string;
    try {
      const recorder = await Recorder.attach(connected.client, { signal });
      const store = await openStore(storeDir);
      try {
        // A local directory the kernel cannot see: blobs in replies, written here. An object store:
        // chunks through this coordinator into the bucket (`checkpoint` does that for remote stores).
        const result = store instanceof LocalStore
          ? await checkpointOverWire(recorder, store, { ...this.options.checkpoint, signal })
          : await checkpoint(recorder, store, { ...this.options.checkpoint, signal });
        checkpointDir = result.checkpoint.dir;
      } finally {
        store.close?.();
      }
    } finally {
      await connected.detach();
    }
    // The server records iopub activity on its own stream: let our last messages land before
    // reading what our visit left as last_activity.
    await new Promise((resolve) => setTimeout(resolve, 250));
    const after = await this.api.getKernel(kernel.id, { signal });
    if (after?.last_activity) this.visited.set(kernel.id, after.last_activity);
    const event: GuardCheckpoint = {
      kernelId: kernel.id,
      kernelName: kernel.name,
      ...(session ? { sessionPath: session.path } : {}),
      storeDir,
      checkpointDir,
      idleSince: kernel.last_activity!,
    };
    this.checkpoints.set(kernel.id, event);
    this.options.onCheckpoint?.(event);
    return event;
  }
}
