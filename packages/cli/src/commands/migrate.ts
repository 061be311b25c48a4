/**
 * nbferry migrate <nb.ipynb>: the whole job on one machine. Run the notebook in a recorded kernel,
 * checkpoint it while a fresh target kernel starts and warms up, restore into the target, verify,
 * and report. Exit status 1 if any variable was lost.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { launchKernel } from '@nbferry/kernel';
import {
  AutoCheckpointer,
  checkpoint,
  migrateThroughStore,
  formatBytes,
  formatMs,
  renderVerification,
  restore,
  prepareTarget,
  userModules,
  type PreparedTarget,
} from '@nbferry/migrate';
import { renderPlanText } from '@nbferry/planner';
import { LocalStore, openStore } from '@nbferry/store';
import { EXIT } from '../exit-codes.js';
import { signingKey } from '../keys.js';
import type { Limits } from '../limits.js';
import { verdictText } from '../output/verdict.js';
import { checkpointDocument, restoreDocument, writeDocument } from '../output/documents.js';
import { createProgress, type ProgressMode } from '../progress/progress.js';
import { stopKernel } from '../kernel-options.js';
import { runRecorded } from '../recorded-run.js';

export interface MigrateArgs {
  notebook: string;
  python?: string;
  store?: string;
  force: boolean;
  /** Exit 0 although a rerun brought a variable back different (allowRecomputedDifferent). */
  allowDifferent?: boolean;
  /** Sign the checkpoint with this key file's private key and verify the restore against it. */
  keyFile?: string;
  limits?: Limits;
  /**
   * Checkpoint into the store after every cell while the notebook runs (incrementally): the
   * migration then writes and moves only what the last cells changed (pre-copy).
   */
  autoCheckpoint?: boolean;
  /**
   * Restore while the checkpoint is written (default, local stores): the target loads each group
   * as soon as it is stored. False: checkpoint, then restore.
   */
  pipeline?: boolean;
  json: boolean;
  progress: ProgressMode;
  signal: AbortSignal;
}

export async function migrateCommand(args: MigrateArgs): Promise<number> {
  const say = (text: string) => !args.json && process.stdout.write(text);
  const limits = args.limits ?? {};
  const allowDifferent = args.allowDifferent ?? false;
  // Before running anything: a key that cannot sign would only fail after the whole notebook ran.
  const key = await signingKey(args.keyFile);
  say(`nbferry migrate ${args.notebook}\n\n1. Run the notebook in a fresh, recorded kernel\n`);
  const { signal } = args;
  const call = { signal, timeoutMs: limits.timeoutMs };
  let storeDir: string | undefined = args.store ?? (await mkdtemp(join(tmpdir(), 'nbferry-store-')));
  // Pre-copy: each cell's changes are checkpointed before the next cell starts (the same store).
  const autoStore = args.autoCheckpoint ? await openStore(storeDir, { key }) : undefined;
  let auto: AutoCheckpointer | undefined;
  const onAttached = (recorder: AutoCheckpointer['recorder']) => {
    if (!autoStore) return undefined;
    const started = new AutoCheckpointer(recorder, autoStore, { key, timeoutMs: limits.timeoutMs, measureBudgetSec: limits.measureBudgetSec });
    auto = started;
    return () => started.flush();
  };
  // The target kernel starts while the notebook runs (its imports wait for the run: they follow the source's).
  const launching = launchKernel({ python: args.python, cwd: dirname(resolve(args.notebook)), signal });
  launching.catch(() => {}); // awaited below; this only avoids an unhandled rejection meanwhile
  const source = await runRecorded(args.notebook, args.python, args.json ? 'none' : 'cells', signal, limits, { onAttached }).catch(async (error: unknown) => {
    await launching.then((kernel) => stopKernel(kernel, signal)).catch(() => {});
    if (!args.store && storeDir) await rm(storeDir, { recursive: true, force: true });
    throw error;
  });
  const progress = createProgress(args.progress);
  let target: Promise<{ kernel: Awaited<ReturnType<typeof launchKernel>>; prepared: PreparedTarget; readyMs: number }> | undefined;
  try {
    if (auto) {
      await auto.flush();
      await auto.stop();
      const { committed, failed } = auto.stats;
      say(`   auto-checkpoints: ${committed} committed${failed ? `, ${failed} failed` : ''} (the migration moves only what changed since the last)\n`);
    }
    if (source.failed) say(`   cell ${source.failed.cell.index + 1} failed; migrating the state as it is\n`);
    say(`   ${source.runs.length} cells in ${formatMs(source.runMs)} (kernel ready in ${formatMs(source.kernelReadyMs)})\n\n`);

    // Prepare the target (imports, shim, environment) while the source checkpoints: the two overlap.
    const modules = await userModules(source.kernel.client, call);
    const targetStart = performance.now();
    target = launching.then(async (kernel) => {
      const prepared = await prepareTarget(kernel.client, modules, call).catch(async (error: unknown) => {
        await stopKernel(kernel, signal);
        throw error;
      });
      return { kernel, prepared, readyMs: performance.now() - targetStart };
    });
    target.catch(() => {}); // awaited below; this only avoids an unhandled rejection meanwhile

    const store = await openStore(storeDir);
    const pipelined = args.pipeline !== false && store instanceof LocalStore;
    say(pipelined ? '2. Checkpoint, and restore into a fresh kernel while it is written (the source kernel keeps running)\n' : '2. Checkpoint (the source kernel keeps running)\n');
    const checkpointStart = performance.now();
    const restoreOptions = { key, force: args.force, allowRecomputedDifferent: allowDifferent };
    const both = pipelined
      ? await migrateThroughStore(
          source.recorder,
          store,
          target.then(({ kernel, prepared }) => ({ client: kernel.client, prepared })),
          { ...call, key, measureBudgetSec: limits.measureBudgetSec, onCheckpointProgress: progress.listener('checkpoint'), restore: restoreOptions, modules },
        )
      : undefined;
    const saved =
      both?.checkpoint ??
      (await checkpoint(source.recorder, store, { ...call, key, measureBudgetSec: limits.measureBudgetSec, onProgress: progress.listener('checkpoint') }));
    const checkpointEndMs = (both ? checkpointStart + both.timeline.committedMs : performance.now()) - targetStart;
    progress.end();
    const bytes = saved.checkpoint.manifest.blobs.reduce((sum, b) => sum + b.bytes, 0);
    say(`${indent(renderPlanText(saved.plan))}\n`);
    const t = saved.timings;
    say(
      `   checkpoint ${formatMs(t.totalMs)}: measure ${formatMs(t.measureMs)}, plan ${formatMs(t.planMs)}, ` +
        `save ${formatMs(t.saveMs)}, commit ${formatMs(t.commitMs)}; ${formatBytes(bytes)} in ` +
        `${args.store ? saved.checkpoint.dir : 'a temporary store (removed at the end; --store DIR keeps it)'}` +
        `${saved.reused.length > 0 ? `; ${saved.reused.length} groups already stored (not written again)` : ''}\n\n`,
    );

    const { kernel, prepared, readyMs } = await target;
    // The part of the target's preparation the checkpoint did not hide: the user waits for it too.
    // Pipelined, the target's work could start once the source had planned.
    const couldStartMs = both ? checkpointStart - targetStart + both.timeline.saveStartedMs : checkpointEndMs;
    const waitMs = Math.max(0, readyMs - couldStartMs);
    say(
      `3. Restore into a fresh kernel (started while the notebook ran, warmed and given the shim during the checkpoint: ready ${formatMs(readyMs)} after the run, ` +
        `${waitMs > 0 ? `${formatMs(waitMs)} after ${both ? 'the source had planned' : 'the checkpoint ended'}` : `before ${both ? 'the source had planned' : 'the checkpoint ended'}`})\n`,
    );
    if (both) {
      const { loads, saveEndedMs, saveStartedMs } = both.timeline;
      const early = loads.filter((l) => l.startedMs < saveEndedMs).length;
      const precopied = loads.filter((l) => l.precopied).length;
      say(
        `   pipelined: ${loads.length} groups loaded, ${early} of them while the source was still saving (save ${formatMs(saveEndedMs - saveStartedMs)})` +
          `${precopied > 0 ? `, ${precopied} already stored before the migration` : ''}\n`,
      );
    }
    const restored =
      both?.restore ??
      (await restore(saved.checkpoint, kernel.client, { ...call, ...restoreOptions, prepared, onProgress: progress.listener('restore') }));
    progress.end();
    const r = restored.timings;
    say(
      `   restore ${formatMs(r.totalMs)}: compatibility ${formatMs(r.compatibilityMs)}, shim ${formatMs(r.attachMs)}, ` +
        `replay ${formatMs(r.replayMs)} (${restored.loadedGroups} loads, ${restored.rerunCells} reruns), verify ${formatMs(r.verifyMs)}\n`,
    );
    const slowest = [...restored.steps].sort((a, b) => b.ms - a.ms).slice(0, 3);
    if (slowest.length > 0) say(`   slowest steps: ${slowest.map((s) => `${s.label.slice(0, 40)} ${formatMs(s.ms)}`).join('; ')}\n`);
    for (const fallback of restored.fallbacks) say(`   fallback: ${fallback}\n`);

    say('\n4. Verify every variable against its fingerprint at checkpoint\n');
    say(`${renderVerification(restored.verification)}\n\n`);
    // Migration wall time as a user waits for it: checkpoint, then whatever of the target's start
    // was not hidden behind it, then the restore.
    const migrationMs = both ? both.timeline.restoredMs : t.totalMs + waitMs + r.totalMs;
    const rerunAllMs = source.kernelReadyMs + source.runs.reduce((sum, run) => sum + run.ms, 0);
    say(
      `Migration ${formatMs(migrationMs)} (checkpoint ${formatMs(t.totalMs)}${waitMs > 0 ? ` + waiting for the target ${formatMs(waitMs)}` : ''} ${both ? 'overlapped with' : '+'} restore ${formatMs(r.totalMs)}); ` +
        `rerunning the notebook took ${formatMs(rerunAllMs)} (${(rerunAllMs / migrationMs).toFixed(1)}x). ` +
        `${verdictText(restored.verification, allowDifferent)}\n`,
    );
    if (args.json) {
      writeDocument({
        schema: 'nbferry/migrate@1',
        notebook: args.notebook,
        failedCell: source.failed ? source.failed.cell.index + 1 : null,
        ok: restored.verification.ok,
        migrationMs,
        targetWaitMs: waitMs,
        rerunAllMs,
        // A temporary store is removed below: the document names no path that will not exist.
        checkpoint: checkpointDocument(saved.checkpoint, { timings: saved.timings, deadlineMissed: saved.deadlineMissed ?? false, kept: args.store !== undefined }),
        // The target is shut down below: no connection file to hand out.
        restore: restoreDocument(restored, null),
      });
    }
    return restored.verification.ok ? EXIT.ok : EXIT.incomplete;
  } finally {
    progress.end();
    await auto?.stop();
    await stopKernel(source.kernel, signal);
    await launching.then((kernel) => stopKernel(kernel, signal)).catch(() => {});
    if (!args.store && storeDir) await rm(storeDir, { recursive: true, force: true });
  }
}

function indent(text: string): string {
  return text
    .trimEnd()
    .split('\n')
    .map((line) => `   ${line}`)
    .join('\n');
}
