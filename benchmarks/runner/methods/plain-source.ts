/**
 * The unrecorded source run, shared by the baselines that need no instrument: the notebook runs
 * top to bottom in a plain kernel (this is also the reference for recording overhead), then dill
 * and pickle-all save from it, then its variables are fingerprinted (shim attached only now).
 */
import { join } from 'node:path';
import { cleanWrittenFiles } from '../corpus.js';
import type { KernelFingerprints } from '../fingerprints.js';
import { fingerprintKernel } from '../fingerprints.js';
import { disposeAll, peakRssMiB, runCells, startKernel } from '../kernels.js';
import { callHelper } from '../python-call.js';
import type { NotebookTrial } from '../types.js';
import { describeError, diskBytes, kernelSetup, type TrialContext } from './context.js';

export type SnapshotMethod = 'dill' | 'pickle-all';

export type SaveOutcome =
  | { ok: true; ms: number; bytes: number; path: string; unpicklable: Record<string, string> }
  | { ok: false; ms: number; reason: string };

export interface PlainSource {
  run: NotebookTrial['unrecorded'];
  fingerprints: KernelFingerprints | null;
  fingerprintFailure?: string;
  saves: Partial<Record<SnapshotMethod, SaveOutcome>>;
}

export async function runPlainSource(ctx: TrialContext, snapshots: readonly SnapshotMethod[]): Promise<PlainSource> {
  const signal = AbortSignal.timeout(ctx.timeoutMs);
  await cleanWrittenFiles(ctx.notebook);
  ctx.progress('unrecorded run');
  const { kernel, startMs } = await startKernel(kernelSetup(ctx, signal));
  try {
    const cells = await runCells(kernel.client, ctx.parsed, signal);
    const run: PlainSource['run'] = { kernelStartMs: startMs, cellMs: cells.cellMs, peakRssMiB: peakRssMiB(kernel) };
    if (cells.failure) run.failure = cells.failure;
    const saves: PlainSource['saves'] = {};
    for (const method of snapshots) {
      ctx.progress(`${method}: checkpoint`);
      saves[method] = await save(ctx, method, kernel.client, signal);
    }
    ctx.progress('fingerprints of the source');
    try {
      return { run, saves, fingerprints: await fingerprintKernel(kernel.client, signal) };
    } catch (error) {
      return { run, saves, fingerprints: null, fingerprintFailure: describeError(error, signal) };
    }
  } finally {
    await disposeAll(kernel);
  }
}

async function save(ctx: TrialContext, method: SnapshotMethod, client: Parameters<typeof callHelper>[0], signal: AbortSignal): Promise<SaveOutcome> {
  const path = join(ctx.scratch, method === 'dill' ? 'session.dill' : 'pickle-all');
  const t0 = performance.now();
  try {
    if (method === 'dill') {
      const { ms } = await callHelper<{ bytes: number }>(client, 'bench_dill', 'save', [path], signal);
      return { ok: true, ms, bytes: await diskBytes(path), path, unpicklable: {} };
    }
    const { value, ms } = await callHelper<{ bytes: number; failed: Record<string, string> }>(client, 'bench_pickle_all', 'save', [path], signal);
    return { ok: true, ms, bytes: await diskBytes(path), path, unpicklable: value.failed };
  } catch (error) {
    return { ok: false, ms: performance.now() - t0, reason: describeError(error, signal) };
  }
}
