/**
 * A kernel for a restore or a migration here: from the warm pool or launched. A pooled kernel
 * (started, shim attached, modules imported: `nbferry serve --warm-kernels`) saves the restore its
 * start and imports; it is taken only when one is ready now (never waited for) and runs the pool's
 * Python. The pool is an optimisation, never a reason to fail: a pooled kernel that cannot be moved
 * into the requested directory is shut down and a kernel is launched instead.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { launchKernel, type CallOptions, type Kernel, type LaunchOptions } from '@nbferry/kernel';
import { prepareTarget, restore, restoreToNewKernel, type CheckpointBody, type PreparedTarget, type RestoreOptions, type RestoreReport, type WarmKernel, type WarmPool } from '@nbferry/migrate';
import { internalCode, type ShimHello } from '@nbferry/recorder';
import type { StoredCheckpoint } from '@nbferry/store';
import { ServiceError } from './errors.js';

/** Where a new kernel here came from: the warm pool, launched for the request, or (a migration) the source's standby. */
export type KernelFrom = 'pool' | 'launched' | 'standby';

export interface FreshKernel {
  kernel: Kernel;
  /** Set for a pooled kernel: pass to `restore`/`migrateLive` (no second injection or environment probe). */
  prepared?: PreparedTarget;
  from: Exclude<KernelFrom, 'standby'>;
}

export interface WarmSource {
  pool: WarmPool;
  /** The Python the pool's kernels run: a request for another one is launched. */
  python: string;
  /** A pooled kernel was unusable (it is shut down; the request got a launched kernel). */
  onUnusable?: (error: unknown) => void;
}

/** Bound on the move into the requested directory when the service sets none (a pooled kernel is idle: it answers at once). */
const MOVE_TIMEOUT_MS = 30_000;

/** The pooled kernel could not change into the requested working directory. */
export class WarmKernelUnusableError extends ServiceError {
  override name = 'WarmKernelUnusableError';
  constructor(cwd: string, why: string) {
    super(`the pooled kernel could not change into ${cwd} (${why}); a kernel is launched there instead`, 'WARM_KERNEL_UNUSABLE', 500);
  }
}

/** A kernel started like `launch` (python, cwd): a ready pooled one if `warm` has one, else launched. */
export async function freshKernel(launch: LaunchOptions, warm?: WarmSource): Promise<FreshKernel> {
  const pooled = await takeWarmKernel(launch, warm);
  if (pooled) return { ...pooled, from: 'pool' };
  return { kernel: await launchKernel(launch), from: 'launched' };
}

/**
 * A kernel prepared as a warm pool's (shim attached, `modules` imported, environment read) in
 * launch's directory: a ready pooled one if `warm` has one, else launched and prepared here (e.g. a
 * standby: it must not wait for the pool). On failure nothing is left running.
 */
export async function preparedKernel(launch: LaunchOptions, warm: WarmSource | undefined, modules: readonly string[]): Promise<WarmKernel & { from: FreshKernel['from'] }> {
  const pooled = await takeWarmKernel(launch, warm);
  if (pooled) return { ...pooled, from: 'pool' };
  const kernel = await launchKernel(launch);
  try {
    const prepared = await prepareTarget(kernel.client, modules, { signal: launch.signal, timeoutMs: launch.timeoutMs });
    return { kernel, prepared, from: 'launched' };
  } catch (error) {
    await kernel.dispose().catch(() => {});
    throw error;
  }
}

/** Restores into a fresh kernel: a ready pooled one if `warm` has one, else launched (restoreToNewKernel). On failure the kernel is shut down. */
export async function restoreToFreshKernel(
  source: StoredCheckpoint<CheckpointBody>,
  launch: LaunchOptions,
  warm: WarmSource | undefined,
  options: RestoreOptions,
): Promise<FreshKernel & { report: RestoreReport }> {
  const pooled = await takeWarmKernel(launch, warm);
  if (!pooled) return { ...(await restoreToNewKernel(source, launch, options)), from: 'launched' };
  try {
    const report = await restore(source, pooled.kernel.client, { ...options, prepared: pooled.prepared });
    return { ...pooled, report, from: 'pool' };
  } catch (error) {
    await pooled.kernel.dispose().catch(() => {});
    throw error;
  }
}

/** A ready pooled kernel, moved into launch's directory; undefined when there is none to use. */
async function takeWarmKernel(launch: LaunchOptions, warm: WarmSource | undefined): Promise<WarmKernel | undefined> {
  // A relative cwd means relative to the service, as for a launch (the pooled kernel's is the pool's).
  const cwd = resolve(launch.cwd ?? process.cwd());
  // A missing directory takes the launch path and fails as it always did, without using up a pooled kernel.
  if (!warm || (launch.python ?? warm.python) !== warm.python || !isDirectory(cwd)) return undefined;
  const pooled = await warm.pool.takeReady().catch(() => undefined); // a closed pool has none
  if (!pooled) return undefined;
  try {
    await moveInto(pooled, cwd, { signal: launch.signal, timeoutMs: launch.timeoutMs ?? MOVE_TIMEOUT_MS });
    return pooled;
  } catch (error) {
    warm.onUnusable?.(error);
    await pooled.kernel.dispose().catch(() => {});
    launch.signal?.throwIfAborted();
    return undefined;
  }
}

/** Changes the pooled kernel's working directory, as nbferry's own code (not a user cell). */
async function moveInto(pooled: WarmKernel, cwd: string, call: CallOptions): Promise<void> {
  const result = await pooled.kernel.client.execute(internalCode(`__import__("os").chdir(${JSON.stringify(cwd)})`), { ...call, silent: true, storeHistory: false });
  if (result.status !== 'ok') throw new WarmKernelUnusableError(cwd, result.error ? `${result.error.ename}: ${result.error.evalue}` : result.status);
  // Checkpoints record the directory the shim said hello from: hear it again from the new one.
  const recorder = pooled.prepared.recorder;
  recorder.hello = (await recorder.request<ShimHello>('hello', {}, call)).result;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
