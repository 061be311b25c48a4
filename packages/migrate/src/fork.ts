/**
 * Fork: n kernels holding one source kernel's state, for what-if exploration and agent search
 * trees. One checkpoint and n restores of it in parallel, all reading the same stored blobs, each
 * verified on its own; into a local store the restores run while the checkpoint is written. The
 * targets start (or come from a warm pool) while the source checkpoints.
 * All or nothing: if a target cannot be started or restored, every child started is shut down and
 * the error says which one failed and why; the source is only read and keeps running.
 */
import { launchKernel, type CallOptions, type Kernel, type LaunchOptions } from '@nbferry/kernel';
import type { Recorder } from '@nbferry/recorder';
import { LocalStore, type CheckpointStore } from '@nbferry/store';
import { checkpoint, type CheckpointOptions, type CheckpointResult } from './checkpoint.js';
import { MigrationError } from './errors.js';
import { PipelinedMigrationError, restoreManyThroughStore, type PipelineTimeline } from './pipelined.js';
import { restore, type RestoreOptions, type RestoreReport } from './restore.js';
import { prepareTarget, userModules, warmUp } from './warm-up.js';
import type { WarmKernel, WarmPool } from './warm-pool.js';

export interface ForkOptions extends CheckpointOptions {
  /** Take the children from this pool (each still imports the source's modules), else start them with `launch`. */
  pool?: WarmPool;
  launch?: LaunchOptions;
  /** How each child is restored (trust, force, allowRecomputedDifferent, timeoutMs). */
  restore?: Omit<RestoreOptions, 'signal' | 'prepared' | 'blobSource' | 'replaceExisting' | 'onProgress'>;
}

export interface ForkChild {
  kernel: Kernel;
  report: RestoreReport;
  /** Pipelined (a local store): when this child loaded each group, against when the source wrote them. */
  timeline?: PipelineTimeline;
}

export interface ForkResult {
  checkpoint: CheckpointResult;
  /** In the order they were started; each is the caller's to dispose or detach. */
  children: ForkChild[];
  timings: {
    /** The source's checkpoint. */
    checkpointMs: number;
    /** From the start until the last child was started and warm. */
    targetsReadyMs: number;
    /** The restores, all at once (pipelined into a local store: from the checkpoint's commit to the last child verified). */
    restoreMs: number;
    totalMs: number;
    /** The children loaded while the source was writing (a local store). */
    pipelined: boolean;
  };
}

/** A child could not be started or restored; every child started was shut down. */
export class ForkError extends MigrationError {
  override name = 'ForkError';
  constructor(
    readonly failed: number,
    readonly requested: number,
    readonly stage: 'start' | 'restore',
    cause: unknown,
  ) {
    super(
      `fork: ${failed} of ${requested} kernels could not be ${stage === 'start' ? 'started' : 'restored'} ` +
        `(first error: ${cause instanceof Error ? cause.message : String(cause)}); every kernel the fork started was shut down, ` +
        'the source kernel and the checkpoint are untouched. Fix the cause, or fork fewer kernels.',
      'FORK_FAILED',
      { cause },
    );
  }
}

export async function fork(source: Recorder, store: CheckpointStore, n: number, options: ForkOptions = {}): Promise<ForkResult> {
  if (!Number.isInteger(n) || n < 1) {
    throw new MigrationError(`fork: the number of kernels must be a whole number ≥ 1, not ${n}`, 'FORK_COUNT');
  }
  try {
    return await forkInto(source, store, n, options);
  } finally {
    // Replacements start only now: started during the fork, they took the cores from the children's restores.
    options.pool?.fill();
  }
}

async function forkInto(source: Recorder, store: CheckpointStore, n: number, options: ForkOptions): Promise<ForkResult> {
  const call: CallOptions = { signal: options.signal, timeoutMs: options.timeoutMs };
  const t0 = performance.now();
  const modules = await userModules(source.client, call);
  let lastReady = t0;
  const starting = Array.from({ length: n }, () =>
    startChild(modules, options, call).then((warm) => {
      lastReady = Math.max(lastReady, performance.now());
      return warm;
    }),
  );
  for (const child of starting) child.catch(() => {}); // settled below; this only avoids an unhandled rejection meanwhile
  // A restore key other than the one this checkpoint is signed with asks for the stored signature to be checked first.
  if (store instanceof LocalStore && (options.restore?.key === undefined || options.restore.key === options.key)) {
    return pipelinedFork(source, store, starting, { ...options, modules }, t0, () => lastReady);
  }
  let saved: CheckpointResult;
  let t1: number;
  try {
    saved = await checkpoint(source, store, options);
    t1 = performance.now();
  } catch (error) {
    await disposeAll(await Promise.allSettled(starting));
    throw error;
  }
  const started = await Promise.allSettled(starting);
  const startFailures = started.filter((s) => s.status === 'rejected');
  if (startFailures.length > 0) {
    await disposeAll(started);
    throw new ForkError(startFailures.length, n, 'start', startFailures[0]!.reason);
  }
  const warm = started.map((s) => (s as PromiseFulfilledResult<WarmKernel>).value);
  const t2 = performance.now();
  const restored = await Promise.allSettled(
    warm.map(({ kernel, prepared }) =>
      restore(saved.checkpoint, kernel.client, { ...options.restore, prepared, signal: options.signal }),
    ),
  );
  const restoreFailures = restored.filter((r) => r.status === 'rejected');
  if (restoreFailures.length > 0) {
    await disposeAll(started);
    throw new ForkError(restoreFailures.length, n, 'restore', restoreFailures[0]!.reason);
  }
  const t3 = performance.now();
  return {
    checkpoint: saved,
    children: warm.map(({ kernel }, i) => ({ kernel, report: (restored[i] as PromiseFulfilledResult<RestoreReport>).value })),
    timings: { checkpointMs: t1 - t0, targetsReadyMs: lastReady - t0, restoreMs: t3 - t2, totalMs: t3 - t0, pipelined: false },
  };
}

/**
 * Into a local store, the children restore while the source writes (restoreManyThroughStore): each
 * loads a group as soon as it is durable, all from the same chunks. (A restore `key` other than the
 * signing one asks for the stored checkpoint's signature to be checked before anything loads: that
 * fork restores from the committed checkpoint.)
 */
async function pipelinedFork(
  source: Recorder,
  store: LocalStore,
  starting: Promise<WarmKernel>[],
  options: ForkOptions & { modules: readonly string[] },
  t0: number,
  lastReady: () => number,
): Promise<ForkResult> {
  // One bound for the whole pipeline (checkpoint and restores overlap): the restore's own, else the fork's.
  const { timeoutMs: perRestore, ...restoreOptions } = options.restore ?? {};
  const targets = starting.map((child) => child.then(({ kernel, prepared }) => ({ client: kernel.client, prepared })));
  try {
    const m0 = performance.now();
    // `onProgress` is the checkpoint's, as in the unpipelined fork (the pipeline takes it as onCheckpointProgress).
    const result = await restoreManyThroughStore(source, store, targets, {
      ...options,
      timeoutMs: options.timeoutMs ?? perRestore,
      restore: restoreOptions,
      onCheckpointProgress: options.onProgress,
    });
    const warm = await Promise.all(starting);
    const t3 = performance.now();
    const committed = m0 + result.timelines[0]!.committedMs; // the same for every child
    return {
      checkpoint: result.checkpoint,
      children: warm.map(({ kernel }, i) => ({ kernel, report: result.restores[i]!, timeline: result.timelines[i]! })),
      timings: { checkpointMs: result.checkpoint.timings.totalMs, targetsReadyMs: lastReady() - t0, restoreMs: t3 - committed, totalMs: t3 - t0, pipelined: result.timelines.every((t) => t.pipelined) },
    };
  } catch (error) {
    const started = await Promise.allSettled(starting);
    await disposeAll(started);
    const startFailures = started.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (startFailures.length > 0) throw new ForkError(startFailures.length, starting.length, 'start', startFailures[0]!.reason);
    if (error instanceof PipelinedMigrationError && error.stage === 'restore') {
      throw new ForkError(error.failedTargets, starting.length, 'restore', error.cause);
    }
    throw error instanceof PipelinedMigrationError ? error.cause : error;
  }
}

/** A started, shim-attached target that has imported the source's modules. */
async function startChild(modules: readonly string[], options: ForkOptions, call: CallOptions): Promise<WarmKernel> {
  if (options.pool) {
    const warm = await options.pool.take({ signal: options.signal, refill: false });
    try {
      await warmUp(warm.kernel.client, modules, call);
      return { ...warm, prepared: { ...warm.prepared, modules: [...(warm.prepared.modules ?? []), ...modules] } };
    } catch (error) {
      await warm.kernel.dispose().catch(() => {});
      throw error;
    }
  }
  const kernel = await launchKernel({ ...options.launch, signal: options.signal ?? options.launch?.signal });
  try {
    return { kernel, prepared: await prepareTarget(kernel.client, modules, call) };
  } catch (error) {
    await kernel.dispose().catch(() => {});
    throw error;
  }
}

async function disposeAll(started: PromiseSettledResult<WarmKernel>[]): Promise<void> {
  await Promise.all(started.map((s) => (s.status === 'fulfilled' ? s.value.kernel.dispose().catch(() => {}) : undefined)));
}
