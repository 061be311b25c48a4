/**
 * Rerun-all: a fresh kernel runs every cell again. Nothing is saved; migration time is the
 * kernel's start plus all cells. Side effects run again (the files the notebook writes are
 * left as the source run left them, as they would be on the same machine).
 */
import { compareFingerprints } from '../fidelity.js';
import { fingerprintKernel } from '../fingerprints.js';
import { disposeAll, importModules, poolModules, runCells, startKernel } from '../kernels.js';
import type { MethodTrial } from '../types.js';
import { describeError, kernelSetup, trial, type TrialContext } from './context.js';
import type { PlainSource } from './plain-source.js';

export async function rerunAll(ctx: TrialContext, source: PlainSource): Promise<MethodTrial> {
  const signal = AbortSignal.timeout(ctx.timeoutMs);
  ctx.progress('rerun-all: running every cell in a fresh kernel');
  let kernel: Awaited<ReturnType<typeof startKernel>>['kernel'] | undefined;
  try {
    const started = await startKernel(kernelSetup(ctx, signal));
    kernel = started.kernel;
    // The pool's imports, timed apart: cold counts them (the cells would import them anyway), pooled does not.
    const importMs = await importModules(kernel.client, poolModules(ctx.parsed), signal);
    const cells = await runCells(kernel.client, ctx.parsed, signal);
    const restoreMs = started.startMs + importMs + cells.cellMs;
    const measured = { checkpointMs: 0, restoreMs, migrationMs: restoreMs, pooledMs: cells.cellMs, bytes: 0 };
    const status = cells.failure ? ('failed' as const) : ('ok' as const);
    const failure = cells.failure ? `rerun: ${cells.failure}` : undefined;
    if (!source.fingerprints) return trial('rerun-all', { status, ...measured, failure: failure ?? `no fidelity: ${source.fingerprintFailure}` });
    ctx.progress('rerun-all: fingerprints');
    const target = await fingerprintKernel(kernel.client, signal, { names: [...source.fingerprints.variables.keys()], algo: source.fingerprints.algo });
    const fidelity = compareFingerprints(source.fingerprints.variables, target.variables);
    return trial('rerun-all', failure ? { status, failure, ...measured, fidelity } : { status, ...measured, fidelity });
  } catch (error) {
    return trial('rerun-all', { status: 'failed', failure: describeError(error, signal) });
  } finally {
    await disposeAll(kernel);
  }
}
