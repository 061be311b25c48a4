/**
 * nbferry, as `nbferry migrate` does it: the notebook runs in a kernel with the recorder attached
 * first; checkpoint to a local store while a fresh target kernel starts and imports the source's
 * modules and gets the shim (the two overlap); restore into it; the restore's own verification gives fidelity.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Kernel } from '@nbferry/kernel';
import { checkpoint, prepareTarget, restore, userModules, type PreparedTarget } from '@nbferry/migrate';
import { Recorder } from '@nbferry/recorder';
import { LocalStore } from '@nbferry/store';
import { cleanWrittenFiles } from '../corpus.js';
import { fromVerification } from '../fidelity.js';
import { disposeAll, peakRssMiB, runCells, startKernel } from '../kernels.js';
import type { MethodTrial } from '../types.js';
import { describeError, diskBytes, kernelSetup, recordedOverhead, trial, type TrialContext } from './context.js';

export async function runNbferry(ctx: TrialContext): Promise<MethodTrial> {
  const signal = AbortSignal.timeout(ctx.timeoutMs);
  const call = { signal };
  let source: Kernel | undefined;
  let target: Promise<{ kernel: Kernel; prepared: PreparedTarget; readyMs: number }> | undefined;
  await cleanWrittenFiles(ctx.notebook);
  try {
    ctx.progress('nbferry: recorded run');
    source = (await startKernel(kernelSetup(ctx, signal))).kernel;
    const a0 = performance.now();
    const recorder = await Recorder.attach(source.client, call);
    const attachMs = performance.now() - a0;
    const cells = await runCells(source.client, ctx.parsed, signal);
    const recordedPeak = peakRssMiB(source);
    await recorder.sync(call);
    const hookMs = recorder.graph.executions.reduce((sum, e) => sum + e.recordingMs, 0);
    const notes: string[] = cells.failure ? [`source run: ${cells.failure} (migrating the state as it is)`] : [];

    // Start and prepare the target (imports, shim, environment) while the source checkpoints, as the CLI does.
    const modules = await userModules(source.client, call);
    const targetStart = performance.now();
    target = startKernel(kernelSetup(ctx, signal)).then(async ({ kernel }) => {
      const prepared = await prepareTarget(kernel.client, modules, call);
      return { kernel, prepared, readyMs: performance.now() - targetStart };
    });
    target.catch(() => {}); // awaited below

    ctx.progress('nbferry: checkpoint');
    const storeDir = join(ctx.scratch, 'nbferry-store');
    await mkdir(storeDir, { recursive: true });
    const saved = await checkpoint(recorder, new LocalStore(storeDir), call);
    const checkpointEndMs = performance.now() - targetStart;
    const bytes = await diskBytes(saved.checkpoint.dir);
    const { kernel, prepared, readyMs } = await target;
    ctx.progress('nbferry: restore');
    const restored = await restore(saved.checkpoint, kernel.client, { ...call, prepared });
    // As `nbferry migrate` reports it: whatever of the target's preparation the checkpoint did not
    // hide (the target was ready `readyMs` after it was launched, the checkpoint ended
    // `checkpointEndMs` after), then the restore itself.
    const checkpointMs = saved.timings.totalMs;
    const restoreMs = Math.max(0, readyMs - checkpointEndMs) + restored.timings.totalMs;
    notes.push(
      `plan: ${saved.plan.serialize.length} group(s) saved, ${restored.rerunCells} cell(s) rerun, ${restored.loadedGroups} load(s); target ready after ${Math.round(readyMs)} ms`,
      ...restored.fallbacks.map((f) => `fallback: ${f}`),
    );
    return trial('nbferry', {
      status: 'ok',
      checkpointMs,
      restoreMs,
      migrationMs: checkpointMs + restoreMs,
      bytes,
      fidelity: fromVerification(restored.verification, saved.checkpoint.manifest.body.fingerprints.values),
      overhead: recordedOverhead({ recordedCellMs: cells.cellMs, attachMs, hookMs, recordedPeakRssMiB: recordedPeak }),
      notes,
    });
  } catch (error) {
    return trial('nbferry', { status: 'failed', failure: describeError(error, signal) });
  } finally {
    await disposeAll(source, await target?.then((t) => t.kernel).catch(() => undefined));
  }
}
