/**
 * Restoring a dill session or a pickle-all directory in a fresh kernel. Restore time includes
 * starting that kernel (nothing hides it). A failed dump or load loses the whole session
 * (fidelity 0); otherwise every source variable is compared by fingerprint.
 */
import { allLost, compareFingerprints } from '../fidelity.js';
import { fingerprintKernel } from '../fingerprints.js';
import { disposeAll, importModules, poolModules, startKernel } from '../kernels.js';
import { callHelper } from '../python-call.js';
import type { MethodTrial } from '../types.js';
import { describeError, kernelSetup, trial, type TrialContext } from './context.js';
import type { PlainSource, SnapshotMethod } from './plain-source.js';

export async function restoreSnapshot(ctx: TrialContext, method: SnapshotMethod, source: PlainSource): Promise<MethodTrial> {
  const saved = source.saves[method];
  const total = source.fingerprints?.variables.size ?? 0;
  if (!saved) return trial(method, { status: 'failed', failure: 'the source run did not get to the checkpoint' });
  if (!saved.ok) {
    return trial(method, { status: 'failed', failure: `checkpoint failed: ${saved.reason}`, checkpointMs: saved.ms, fidelity: allLost(total, 'checkpoint failed') });
  }
  const notes = Object.entries(saved.unpicklable).map(([name, why]) => `not picklable: ${name} (${why.slice(0, 80)})`);
  const signal = AbortSignal.timeout(ctx.timeoutMs);
  ctx.progress(`${method}: restore`);
  const started = await startKernel(kernelSetup(ctx, signal)).catch((error: unknown) => error as Error);
  if (started instanceof Error) {
    return trial(method, { status: 'failed', failure: `target kernel: ${describeError(started, signal)}`, checkpointMs: saved.ms, bytes: saved.bytes, notes });
  }
  const { kernel, startMs } = started;
  try {
    // The pool's imports, timed apart: cold counts them (the load would import them anyway), pooled does not.
    const importMs = await importModules(kernel.client, poolModules(ctx.parsed), signal);
    let loadMs: number;
    try {
      const { ms, value } = await callHelper<{ failed?: Record<string, string> }>(
        kernel.client,
        method === 'dill' ? 'bench_dill' : 'bench_pickle_all',
        'load',
        [saved.path],
        signal,
      );
      loadMs = ms;
      for (const [name, why] of Object.entries(value.failed ?? {})) notes.push(`failed to load: ${name} (${why.slice(0, 80)})`);
    } catch (error) {
      return trial(method, {
        status: 'failed',
        failure: `restore failed: ${describeError(error, signal)}`,
        checkpointMs: saved.ms,
        bytes: saved.bytes,
        fidelity: allLost(total, 'restore failed'),
        notes,
      });
    }
    const restoreMs = startMs + importMs + loadMs;
    const measured = { checkpointMs: saved.ms, restoreMs, migrationMs: saved.ms + restoreMs, pooledMs: saved.ms + loadMs, bytes: saved.bytes, notes };
    if (!source.fingerprints) return trial(method, { status: 'ok', ...measured, failure: `no fidelity: ${source.fingerprintFailure}` });
    ctx.progress(`${method}: fingerprints`);
    const target = await fingerprintKernel(kernel.client, signal, { names: [...source.fingerprints.variables.keys()], algo: source.fingerprints.algo });
    return trial(method, { status: 'ok', ...measured, fidelity: compareFingerprints(source.fingerprints.variables, target.variables) });
  } catch (error) {
    return trial(method, { status: 'failed', failure: describeError(error, signal), checkpointMs: saved.ms, bytes: saved.bytes, notes });
  } finally {
    await disposeAll(kernel);
  }
}
