/**
 * Kishu (PyPI), driven through its Python API in headless mode (see baselines/bench_kishu.py).
 * Kishu commits after every cell by itself: that work shows up as recording overhead. At
 * migration time the checkpoint is one more commit; the restore is a fresh kernel that attaches
 * Kishu to the same database and checks the commit out.
 */
import { copyFile, mkdir, readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Kernel } from '@nbferry/kernel';
import { cleanWrittenFiles } from '../corpus.js';
import { compareFingerprints } from '../fidelity.js';
import { fingerprintKernel } from '../fingerprints.js';
import { disposeAll, peakRssMiB, runCells, startKernel } from '../kernels.js';
import { callHelper } from '../python-call.js';
import type { MethodTrial } from '../types.js';
import { describeError, diskBytes, kernelSetup, recordedOverhead, trial, type TrialContext } from './context.js';

export async function runKishu(ctx: TrialContext, python: string): Promise<MethodTrial> {
  const signal = AbortSignal.timeout(ctx.kishuTimeoutMs);
  const dir = join(ctx.scratch, 'kishu');
  await mkdir(join(dir, 'home'), { recursive: true });
  // Kishu writes metadata into the notebook and its database beside it: give it a copy.
  const copy = join(dir, basename(ctx.notebook.path));
  await copyFile(ctx.notebook.absolutePath, copy);
  const env = { TEST_NOTEBOOK_PATH: copy, ENV_KISHU_TEST_MODE: '1', KISHU_PATH_ROOT: join(dir, 'home') };
  let source: Kernel | undefined;
  let target: Kernel | undefined;
  await cleanWrittenFiles(ctx.notebook);
  try {
    ctx.progress('kishu: recorded run');
    source = (await startKernel(kernelSetup(ctx, signal, python, env))).kernel;
    const init = await callHelper<unknown>(source.client, 'bench_kishu', 'init', [copy], signal, { inCell: true });
    const cells = await runCells(source.client, ctx.parsed, signal);
    const recordedPeak = peakRssMiB(source);
    const notes = cells.failure ? [`source run: ${cells.failure}`] : [];
    ctx.progress('kishu: checkpoint (commit)');
    const committed = await callHelper<{ commit: string }>(source.client, 'bench_kishu', 'commit', ['nbferry-bench'], signal, { inCell: true });
    const bytes = await databaseBytes(dir, copy);
    ctx.progress('kishu: fingerprints of the source');
    const expected = await fingerprintKernel(source.client, signal);
    await disposeAll(source);
    source = undefined;

    ctx.progress('kishu: restore (checkout in a fresh kernel)');
    const started = await startKernel(kernelSetup(ctx, signal, python, env));
    target = started.kernel;
    const attach = await callHelper<unknown>(target.client, 'bench_kishu', 'init', [copy], signal, { inCell: true });
    const checkout = await callHelper<{ message: string }>(target.client, 'bench_kishu', 'checkout', [committed.value.commit], signal, { inCell: true });
    const restoreMs = started.startMs + attach.ms + checkout.ms;
    ctx.progress('kishu: fingerprints');
    const actual = await fingerprintKernel(target.client, signal, { names: [...expected.variables.keys()], algo: expected.algo });
    notes.push(`kishu ${checkout.value.message}`);
    return trial('kishu', {
      status: 'ok',
      checkpointMs: committed.ms,
      restoreMs,
      migrationMs: committed.ms + restoreMs,
      bytes,
      fidelity: compareFingerprints(expected.variables, actual.variables),
      overhead: recordedOverhead({ recordedCellMs: cells.cellMs, attachMs: init.ms, recordedPeakRssMiB: recordedPeak }),
      notes,
    });
  } catch (error) {
    return trial('kishu', { status: 'failed', failure: describeError(error, signal) });
  } finally {
    await disposeAll(source, target);
  }
}

/** Kishu's SQLite database (and its journal files) next to the notebook copy. */
export async function databaseBytes(dir: string, notebook: string): Promise<number> {
  const stem = basename(notebook).replace(/\.ipynb$/, '');
  let total = 0;
  for (const name of await readdir(dir)) if (name.startsWith(`${stem}.kishudb`)) total += await diskBytes(join(dir, name));
  return total;
}
