/**
 * nbferry, as `nbferry migrate` does it: the notebook runs in a kernel with the recorder attached
 * first; a fresh target kernel starts and imports the source's modules and gets the shim while the
 * source checkpoints to a local store, and restores it while it is written (pipelined: each group
 * loads as soon as it is stored); the restore's own verification gives fidelity.
 *
 * `precopy` (method nbferry-precopy): auto-checkpoints on, every cell checkpointed into the store
 * before the next one starts (not counted as cell time), so the migration writes only what changed
 * since the last one: with the last cell already checkpointed, nothing but the plan's small groups.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Kernel } from '@nbferry/kernel';
import { AutoCheckpointer, migrateThroughStore, migrateToStandby, prepareTarget, Standby, userModules, type PreparedTarget } from '@nbferry/migrate';
import { Recorder } from '@nbferry/recorder';
import { LocalStore } from '@nbferry/store';
import { cleanWrittenFiles } from '../corpus.js';
import { fromVerification } from '../fidelity.js';
import { disposeAll, peakRssMiB, poolModules, runCells, startKernel } from '../kernels.js';
import type { MethodTrial } from '../types.js';
import { describeError, diskBytes, kernelSetup, recordedOverhead, trial, type TrialContext } from './context.js';

export async function runNbferry(ctx: TrialContext, options: { precopy?: boolean } = {}): Promise<MethodTrial> {
  const method = options.precopy ? 'nbferry-precopy' : 'nbferry';
  const signal = AbortSignal.timeout(ctx.timeoutMs);
  const call = { signal };
  let source: Kernel | undefined;
  let target: Promise<{ kernel: Kernel; prepared: PreparedTarget; readyMs: number }> | undefined;
  let standbyKernel: Kernel | undefined;
  await cleanWrittenFiles(ctx.notebook);
  try {
    ctx.progress(`${method}: recorded run`);
    source = (await startKernel(kernelSetup(ctx, signal))).kernel;
    const a0 = performance.now();
    const recorder = await Recorder.attach(source.client, call);
    const attachMs = performance.now() - a0;
    const storeDir = join(ctx.scratch, `${method}-store`);
    await mkdir(storeDir, { recursive: true });
    const store = new LocalStore(storeDir);
    // Pre-copy: a standby kernel (pre-started as the pooled one) follows the auto-checkpoints; its
    // catch-ups run beside the next cells, and are waited for before the migration (not timed).
    let standby: Standby | undefined;
    if (options.precopy) {
      standbyKernel = (await startKernel(kernelSetup(ctx, signal))).kernel;
      standby = new Standby((await prepareTarget(standbyKernel.client, poolModules(ctx.parsed), call)).recorder, store);
    }
    const auto = options.precopy ? new AutoCheckpointer(recorder, store, { onCheckpoint: (saved) => standby?.offer(saved.checkpoint.manifest.id) }) : undefined;
    const cells = await runCells(source.client, ctx.parsed, signal, '', auto ? () => auto.flush() : undefined);
    await auto?.stop();
    await standby?.idle();
    const recordedPeak = peakRssMiB(source);
    await recorder.sync(call);
    const hookMs = recorder.graph.executions.reduce((sum, e) => sum + e.recordingMs, 0);
    const notes: string[] = cells.failure ? [`source run: ${cells.failure} (migrating the state as it is)`] : [];
    if (auto) notes.push(`auto-checkpoints: ${auto.stats.committed} committed, ${auto.stats.failed} failed`);

    // Start and prepare the target (imports, shim, environment) while the source checkpoints, as the CLI does.
    const modules = await userModules(source.client, call);
    const targetStart = performance.now();
    target = startKernel(kernelSetup(ctx, signal)).then(async ({ kernel }) => {
      const prepared = await prepareTarget(kernel.client, modules, call);
      return { kernel, prepared, readyMs: performance.now() - targetStart };
    });
    target.catch(() => {}); // awaited below

    ctx.progress(`${method}: pipelined checkpoint and restore`);
    const m0 = performance.now();
    const migrated = await migrateThroughStore(recorder, store, target.then(({ kernel, prepared }) => ({ client: kernel.client, prepared })), { ...call, modules });
    const migrationMs = performance.now() - targetStart;
    const { checkpoint: saved, restore: restored, timeline } = migrated;
    const bytes = await diskBytes(saved.checkpoint.dir);
    // As a user waits for it: from launching the target to the restore verified (userModules before is a few ms).
    const checkpointMs = saved.timings.totalMs;
    const restoreMs = Math.max(0, migrationMs - checkpointMs);
    const readyMs = (await target).readyMs;
    const sumSteps = (prefix: string) => restored.steps.filter((s) => s.label.startsWith(prefix)).reduce((sum, s) => sum + s.ms, 0);
    // From the manifest (a fallback may load a group twice): blobs an earlier checkpoint already stored.
    const reused = new Set(saved.reused);
    const precopiedBytes = saved.checkpoint.manifest.blobs.filter((b) => reused.has(b.group)).reduce((sum, b) => sum + b.bytes, 0);
    const blobBytes = saved.checkpoint.manifest.blobs.reduce((sum, b) => sum + b.bytes, 0);
    notes.push(
      `plan: ${saved.plan.serialize.length} group(s) saved (${saved.reused.length} already stored), ${restored.rerunCells} cell(s) rerun, ${restored.loadedGroups} load(s); target ready after ${Math.round(readyMs)} ms; ` +
        `${timeline.loads.filter((l) => l.startedMs < timeline.saveEndedMs).length} load(s) began before the save ended${timeline.pipelined ? '' : ' (not pipelined: the source ran code)'}`,
      ...restored.fallbacks.map((f) => `fallback: ${f}`),
    );
    // The pooled case: the same state again, into a kernel started and prepared as a pool would
    // have it (its modules imported, the shim in) before the migration began; a fresh store without
    // pre-copy (nbferry) or the same store (nbferry-precopy: its last checkpoint is still the state).
    ctx.progress(`${method}: pooled target`);
    const pooled = await startKernel(kernelSetup(ctx, signal));
    let pooledMs: number;
    try {
      const poolPrepared = await prepareTarget(pooled.kernel.client, poolModules(ctx.parsed), call);
      const pooledStore = options.precopy ? store : new LocalStore(join(ctx.scratch, `${method}-pooled-store`));
      const p0 = performance.now();
      // The pooled kernel imports the source's other modules while the source checkpoints (pipelined.ts).
      const again = await migrateThroughStore(recorder, pooledStore, { client: pooled.kernel.client, prepared: poolPrepared }, { ...call, incremental: options.precopy === true, modules });
      pooledMs = performance.now() - p0;
      if (!again.restore.verification.ok) notes.push('pooled migration: verification not ok');
    } finally {
      await disposeAll(pooled.kernel);
    }
    // The standby: the last checkpoint (nothing changed since the migration's) and its catch-up.
    let standbyMs: number | undefined;
    if (standby) {
      ctx.progress(`${method}: standby`);
      const moved = await migrateToStandby(recorder, standby, call);
      standbyMs = moved.timings.totalMs;
      if (!moved.report.verification.ok) notes.push('standby migration: verification not ok');
      notes.push(`standby: ${moved.report.loadedGroups} load(s), ${moved.report.rerunCells} rerun(s) at the migration; ${standby.lastError ? 'a catch-up failed' : 'every catch-up ok'}`);
    }
    return trial(method, {
      status: 'ok',
      checkpointMs,
      restoreMs,
      migrationMs,
      pooledMs,
      ...(standbyMs === undefined ? {} : { standbyMs }),
      bytes,
      fidelity: fromVerification(restored.verification, saved.checkpoint.manifest.body.fingerprints.values),
      breakdown: {
        checkpointMs,
        waitTargetMs: Math.max(0, readyMs - (m0 - targetStart) - timeline.saveStartedMs),
        targetReadyMs: readyMs,
        loadMs: timeline.loads.reduce((sum, l) => sum + (l.endedMs - l.startedMs), 0),
        rerunMs: sumSteps('run '),
        verifyMs: restored.timings.verifyMs,
        writtenBytes: blobBytes - precopiedBytes,
        precopiedBytes,
      },
      ...(options.precopy ? {} : { overhead: recordedOverhead({ recordedCellMs: cells.cellMs, attachMs, hookMs, recordedPeakRssMiB: recordedPeak }) }),
      notes,
    });
  } catch (error) {
    return trial(method, { status: 'failed', failure: describeError(error, signal) });
  } finally {
    await disposeAll(source, standbyKernel, await target?.then((t) => t.kernel).catch(() => undefined));
  }
}
