/**
 * ElasticNotebook, when the user points the runner at a checkout of it (`--elasticnotebook PATH`,
 * run with `--python`, which must have EN's own requirements). It is loaded as its examples do
 * and every cell is prefixed with `%%RecordEvent`, as its experiment driver does. EN's restore
 * does not raise on every failure, so fidelity is judged by fingerprints only.
 */
import { join } from 'node:path';
import type { Kernel } from '@nbferry/kernel';
import { cleanWrittenFiles } from '../corpus.js';
import { compareFingerprints } from '../fidelity.js';
import { fingerprintKernel } from '../fingerprints.js';
import { disposeAll, peakRssMiB, runCells, startKernel } from '../kernels.js';
import { callHelper } from '../python-call.js';
import type { MethodTrial } from '../types.js';
import { describeError, kernelSetup, recordedOverhead, trial, type TrialContext } from './context.js';

export async function runElasticNotebook(ctx: TrialContext, root: string): Promise<MethodTrial> {
  const signal = AbortSignal.timeout(ctx.timeoutMs);
  const file = join(ctx.scratch, 'elastic.pickle');
  let source: Kernel | undefined;
  let target: Kernel | undefined;
  await cleanWrittenFiles(ctx.notebook);
  try {
    ctx.progress('elasticnotebook: recorded run');
    source = (await startKernel(kernelSetup(ctx, signal))).kernel;
    const load = await callHelper<unknown>(source.client, 'bench_elastic', 'load_extension', [root], signal);
    const cells = await runCells(source.client, ctx.parsed, signal, '%%RecordEvent\n');
    const recordedPeak = peakRssMiB(source);
    const notes = cells.failure ? [`source run: ${cells.failure}`] : [];
    ctx.progress('elasticnotebook: checkpoint');
    const saved = await callHelper<{ bytes: number }>(source.client, 'bench_elastic', 'checkpoint', [file], signal);
    const expected = await fingerprintKernel(source.client, signal);
    await disposeAll(source);
    source = undefined;

    ctx.progress('elasticnotebook: restore');
    const started = await startKernel(kernelSetup(ctx, signal));
    target = started.kernel;
    const attach = await callHelper<unknown>(target.client, 'bench_elastic', 'load_extension', [root], signal);
    const restored = await callHelper<unknown>(target.client, 'bench_elastic', 'restore', [file], signal);
    const restoreMs = started.startMs + attach.ms + restored.ms;
    const actual = await fingerprintKernel(target.client, signal, { names: [...expected.variables.keys()], algo: expected.algo });
    return trial('elasticnotebook', {
      status: cells.failure ? 'failed' : 'ok',
      ...(cells.failure ? { failure: cells.failure } : {}),
      checkpointMs: saved.ms,
      restoreMs,
      migrationMs: saved.ms + restoreMs,
      bytes: saved.value.bytes,
      fidelity: compareFingerprints(expected.variables, actual.variables),
      overhead: recordedOverhead({ recordedCellMs: cells.cellMs, attachMs: load.ms, recordedPeakRssMiB: recordedPeak }),
      notes,
    });
  } catch (error) {
    return trial('elasticnotebook', { status: 'failed', failure: describeError(error, signal) });
  } finally {
    await disposeAll(source, target);
  }
}
