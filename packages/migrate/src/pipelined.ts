/**
 * Pipelined migration through a local store: the target restores the checkpoint while the source is
 * still writing it. Once the source has planned (before any blob is written), the target starts the
 * plan's program; each load waits only for its own group, which the source saves one at a time and
 * which is loaded from the store's chunks as soon as it is durable there. Groups the store already
 * holds unchanged (an earlier checkpoint of this kernel: pre-copy) load at once. On two cores both
 * kernels work at once: the source pickles and writes group k+1 while the target reads group k.
 * The source saves the smallest groups first (load-order.ts), and a big group streams: the target
 * stages each of its chunks as it is stored and unpickles once the last is in (stored-chunk-stream.ts).
 *
 * Failures: a group the source cannot save makes the target's load of it fail, and the restore's
 * usual fallback recomputes it (or reports it lost). A checkpoint that fails (or a cell that runs on
 * the source meanwhile) leaves the source and its store's previous checkpoint untouched; the target
 * is stopped, what it bound is removed, and the error says so. With a cell run meanwhile, the
 * migration starts over checkpoint-then-restore.
 */
import type { CallOptions, KernelClient } from '@nbferry/kernel';
import type { Recorder } from '@nbferry/recorder';
import type { BlobEntry, LocalStore } from '@nbferry/store';
import { dirname } from 'node:path';
import { blobEntry, checkpoint, checkpointBody, savedPackages, type CheckpointOptions, type CheckpointResult, type PreparedCheckpoint } from './checkpoint.js';
import { kernelEnvironment } from './environment.js';
import { loadsSmallestFirst } from './load-order.js';
import { MigrationError, StateChangedError } from './errors.js';
import { commitLineage } from './lineage.js';
import { replayedState } from './replayed-measurement.js';
import { replay, restore, type ReplayInput, type RestoreOptions, type RestoreReport } from './restore.js';
import { load, type LoadResult, type LoadSpec, type SavedBlob } from './shim-api.js';
import { importMissingModules, userModules, type PreparedTarget } from './warm-up.js';
import { deleteNames, ownedNames } from './owned-names.js';
import { dropStaged, stageStoredChunks, STREAM_CHUNKS_OVER, StoredChunkFeed, type StoredBlob } from './stored-chunk-stream.js';
import { abortable, deferred, type Deferred } from './waiting.js';

export interface PipelinedMigrationOptions extends Omit<CheckpointOptions, 'pipeline' | 'onProgress'> {
  /** Restore options (verification, trust, replaceExisting, ...); the signal and timeout are the migration's. */
  restore?: Omit<RestoreOptions, 'blobSource' | 'prepared' | 'signal' | 'timeoutMs' | 'interruptOnAbort'>;
  onCheckpointProgress?: CheckpointOptions['onProgress'];
  /** The source's modules (`userModules`), when the caller has them already; else asked for. */
  modules?: readonly string[];
}

/** The target: a client, or one still starting (a launch the caller overlaps with the checkpoint). */
export interface PipelineTarget {
  client: KernelClient;
  prepared?: PreparedTarget;
}

export interface PipelinedMigrationResult {
  checkpoint: CheckpointResult;
  restore: RestoreReport;
  timeline: PipelineTimeline;
}

/** Milliseconds since the migration started. */
export interface PipelineTimeline {
  /** The source began writing blobs (after measuring and planning). */
  saveStartedMs: number;
  /** The source's last blob was durable. */
  saveEndedMs: number;
  /** The target was ready (started, shim injected). */
  targetReadyMs: number;
  /**
   * Each group the target loaded: when its load started (its blob was durable; `streamed`, a big
   * group staged chunk by chunk while it was written: when its first chunks were staged) and ended.
   */
  loads: { group: string; bytes: number; precopied: boolean; streamed?: boolean; startedMs: number; endedMs: number }[];
  /** The checkpoint was committed / the restore verified. */
  committedMs: number;
  restoredMs: number;
  /** False when the pipeline was abandoned (a cell ran on the source) and the migration ran checkpoint-then-restore. */
  pipelined: boolean;
}

/** A pipelined migration failed; `checkpoint` is set when the source's checkpoint was committed anyway. */
export class PipelinedMigrationError extends MigrationError {
  override name = 'PipelinedMigrationError';
  constructor(
    readonly stage: 'checkpoint' | 'restore',
    override readonly cause: unknown,
    readonly checkpoint?: CheckpointResult,
    /** How many of the targets failed (several when the migration restored into several at once). */
    readonly failedTargets = 1,
  ) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super(
      stage === 'checkpoint'
        ? `the checkpoint failed while the target was restoring it (${why}). The source kernel is unchanged and the store's previous ` +
            'checkpoint is intact; the target was stopped and what it had loaded removed. Fix the cause and migrate again.'
        : `the checkpoint ${checkpoint?.checkpoint.manifest.id ?? ''} was committed, but restoring it into ${failedTargets > 1 ? `${failedTargets} of the targets` : 'the target'} failed (${why}). ` +
            'The source kernel is unchanged; restore the checkpoint into a fresh kernel (nbferry restore).',
      stage === 'checkpoint' ? 'PIPELINE_CHECKPOINT_FAILED' : 'PIPELINE_RESTORE_FAILED',
    );
  }
}

type Arrival = { entry: BlobEntry; precopied: boolean } | { error: string };

export async function migrateThroughStore(
  source: Recorder,
  store: LocalStore,
  target: PipelineTarget | Promise<PipelineTarget>,
  options: PipelinedMigrationOptions = {},
): Promise<PipelinedMigrationResult> {
  const { checkpoint: saved, restores, timelines } = await restoreManyThroughStore(source, store, [target], options);
  return { checkpoint: saved, restore: restores[0]!, timeline: timelines[0]! };
}

export interface PipelinedManyResult {
  checkpoint: CheckpointResult;
  /** One per target, in the order given. */
  restores: RestoreReport[];
  timelines: PipelineTimeline[];
}

/**
 * The pipelined migration into several targets at once (fork): one checkpoint, and every target
 * loads each group as soon as it is durable, all reading the same chunks. A target that fails
 * makes the whole call fail (`PipelinedMigrationError` with `failedTargets`), after the others
 * have finished; the caller decides what to do with the kernels.
 */
export async function restoreManyThroughStore(
  source: Recorder,
  store: LocalStore,
  targets: readonly (PipelineTarget | Promise<PipelineTarget>)[],
  options: PipelinedMigrationOptions = {},
): Promise<PipelinedManyResult> {
  const t0 = performance.now();
  const since = () => performance.now() - t0;
  const call: CallOptions = { signal: options.signal, timeoutMs: options.timeoutMs };
  const stop = new AbortController();
  const onOuterAbort = () => stop.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onOuterAbort, { once: true });
  // A target prepared before anyone asked (a warm pool's) imported the pool's modules, not
  // necessarily the source's: it imports the others first (asked of the source once, beside the
  // checkpoint's start; userModules never throws).
  const modules = options.modules ? Promise.resolve(options.modules) : userModules(source.client, call);
  const readyTargets = targets.map((target) => {
    const ready = Promise.resolve(target).then(async (t) => {
      await importMissingModules(source.client, t.client, t.prepared, await modules, call);
      return { ...t, readyMs: since() };
    });
    ready.catch(() => {}); // awaited below; this only avoids an unhandled rejection meanwhile
    return ready;
  });

  const arrivals = new Map<string, Deferred<Arrival>>();
  // Big groups the source saves now: their chunks as each is stored, staged by the targets meanwhile.
  const feeds = new Map<string, StoredChunkFeed>();
  const idByNames = new Map<string, string>();
  const loads: PipelineTimeline['loads'][] = targets.map(() => []);
  let saveStartedMs = 0;
  let saveEndedMs = 0;
  let running: Promise<RestoreReport>[] | undefined;
  let input: ReplayInput | undefined;

  const pipeline = {
    planned: async (prepared: PreparedCheckpoint) => {
      // A second attempt (a cell ran on the source) is never pipelined: see the catch below.
      if (running) throw new StateChangedError(prepared.measurement.seq ?? 0, source.graph.lastSeq);
      input = await replayInputOf(source, prepared, call);
      for (const group of prepared.planned.plan.serialize) {
        const arrival = deferred<Arrival>();
        const reused = prepared.reused?.get(group);
        if (reused) arrival.resolve({ entry: reused, precopied: true });
        arrivals.set(group, arrival);
        const planned = prepared.planned.problem.groups.find((g) => g.id === group);
        idByNames.set(namesKey(planned?.names ?? []), group);
        if (!reused && (planned?.bytes ?? 0) >= STREAM_CHUNKS_OVER) feeds.set(group, new StoredChunkFeed());
      }
      running = readyTargets.map((ready, i) => {
        const replaying = ready.then((t) =>
          replay(input!, { kind: 'custom', load: (recorder, spec, group, loadCall) => loadWhenDurable(i, recorder, spec, group, loadCall) }, t.client, {
            ...options.restore,
            signal: stop.signal,
            timeoutMs: options.timeoutMs,
            // Cleaned below instead: an interrupt could break what the target is importing.
            interruptOnAbort: false,
            ...(t.prepared ? { prepared: t.prepared } : {}),
          }),
        );
        replaying.catch(() => {}); // awaited below
        return replaying;
      });
      saveStartedMs = since();
    },
    saved: (blob: SavedBlob) => {
      saveEndedMs = since();
      const group = idByNames.get(namesKey(blob.names));
      const arrival = group === undefined ? undefined : arrivals.get(group);
      if (!arrival || !group) return;
      arrival.resolve(blob.ok ? { entry: blobEntry(blob, group), precopied: false } : { error: blob.error?.message ?? 'the source could not save it' });
    },
    streamChunksOver: STREAM_CHUNKS_OVER,
  };
  const unsubscribe = source.events.on('savedChunks', (event) => feeds.get(idByNames.get(namesKey(event.names)) ?? '')?.add(event));

  async function loadWhenDurable(target: number, recorder: Recorder, spec: LoadSpec, group: string, loadCall: CallOptions): Promise<LoadResult | undefined> {
    const feed = feeds.get(group);
    if (feed) return loadStreamed(target, recorder, spec, group, feed, loadCall);
    const arrival = await abortable(arrivals.get(group)?.promise ?? Promise.resolve({ error: 'not in the plan the source saved' }), loadCall.signal);
    if ('error' in arrival) return { ok: false, error: { kind: 'save', message: `the source could not save it: ${arrival.error}` }, seconds: 0 };
    const { entry } = arrival;
    if (!entry.chunks) return { ok: false, error: { kind: 'format', message: 'its stored blob is not in the chunks directory (format 1)' }, seconds: 0 };
    const startedMs = since();
    const [result] = await load(recorder, [loadSpec(spec, entry, { chunks: entry.chunks })], { ...loadCall, chunksDir: store.chunksDir });
    loads[target]!.push({ group, bytes: entry.bytes, precopied: arrival.precopied, startedMs, endedMs: since() });
    return result;
  }

  /** A big group: its chunks staged as the source stores them, loaded from the stage once all are in. */
  async function loadStreamed(target: number, recorder: Recorder, spec: LoadSpec, group: string, feed: StoredChunkFeed, loadCall: CallOptions): Promise<LoadResult | undefined> {
    const key = `stored-${group}`;
    const saved = arrivals.get(group)!.promise.then(storedBlobOf);
    let startedMs: number | undefined;
    let stored: StoredBlob;
    try {
      stored = await stageStoredChunks(recorder, feed, saved, { key, group, chunksDir: store.chunksDir }, loadCall, () => (startedMs ??= since()));
    } catch (error) {
      await dropStaged(recorder, key, call);
      throw error;
    }
    if ('error' in stored) {
      await dropStaged(recorder, key, call); // what was staged before the save failed
      return { ok: false, error: { kind: 'save', message: `the source could not save it: ${stored.error}` }, seconds: 0 };
    }
    const [result] = await load(recorder, [loadSpec(spec, stored, { staged: key })], loadCall); // consumes the staged bytes
    loads[target]!.push({ group, bytes: stored.bytes, precopied: false, streamed: true, startedMs: startedMs ?? since(), endedMs: since() });
    return result;
  }

  let saved: CheckpointResult;
  try {
    saved = await checkpoint(source, store, { ...options, attempts: 1, onProgress: options.onCheckpointProgress, pipeline });
  } catch (error) {
    unsubscribe();
    for (const arrival of arrivals.values()) arrival.resolve({ error: 'the checkpoint failed' });
    stop.abort(error);
    if (running) {
      await Promise.allSettled(running);
      for (const ready of await Promise.allSettled(readyTargets)) {
        if (ready.status === 'fulfilled' && input) await deleteNames(ready.value.client, ownedNames(input.body.problem), cleanupCall(options)).catch(() => {});
      }
    }
    options.signal?.removeEventListener('abort', onOuterAbort);
    if (error instanceof StateChangedError && !options.signal?.aborted) return sequential(source, store, readyTargets, options, t0);
    throw new PipelinedMigrationError('checkpoint', error);
  }
  unsubscribe();
  const committedMs = since();
  saveEndedMs ||= saveStartedMs; // nothing to write: every group was already stored
  try {
    const settled = await Promise.allSettled(
      running!.map(async (replaying, i) => {
        const report = await replaying;
        const ready = await readyTargets[i]!;
        const state = await replayedState(report.recorder, saved.checkpoint.manifest, report.verification, call);
        await commitLineage(report.recorder, { root: dirname(dirname(saved.checkpoint.dir)), id: saved.checkpoint.manifest.id, manifest: saved.checkpoint.manifest, ...state }, { ...call, replacesState: true });
        const timeline: PipelineTimeline = { saveStartedMs, saveEndedMs, targetReadyMs: ready.readyMs, loads: loads[i]!, committedMs, restoredMs: since(), pipelined: true };
        return { report, timeline };
      }),
    );
    return { checkpoint: saved, ...outcomes(settled, saved) };
  } finally {
    options.signal?.removeEventListener('abort', onOuterAbort);
  }
}

/** The reports in order, or the restore-stage error (with how many targets failed) once all have settled. */
function outcomes(
  settled: PromiseSettledResult<{ report: RestoreReport; timeline: PipelineTimeline }>[],
  saved: CheckpointResult,
): { restores: RestoreReport[]; timelines: PipelineTimeline[] } {
  const failed = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed.length > 0) throw new PipelinedMigrationError('restore', failed[0]!.reason, saved, failed.length);
  const done = settled.map((s) => (s as PromiseFulfilledResult<{ report: RestoreReport; timeline: PipelineTimeline }>).value);
  return { restores: done.map((d) => d.report), timelines: done.map((d) => d.timeline) };
}

/** Checkpoint, then restore into every target: when the source ran a cell during the pipelined attempt. */
async function sequential(
  source: Recorder,
  store: LocalStore,
  targets: Promise<PipelineTarget & { readyMs: number }>[],
  options: PipelinedMigrationOptions,
  t0: number,
): Promise<PipelinedManyResult> {
  const saveStartedMs = performance.now() - t0;
  const saved = await checkpoint(source, store, { ...options, onProgress: options.onCheckpointProgress });
  const committedMs = performance.now() - t0;
  const settled = await Promise.allSettled(
    targets.map(async (target) => {
      const ready = await target;
      const report = await restore(saved.checkpoint, ready.client, { ...options.restore, signal: options.signal, timeoutMs: options.timeoutMs, ...(ready.prepared ? { prepared: ready.prepared } : {}) });
      const timeline: PipelineTimeline = { saveStartedMs, saveEndedMs: committedMs, targetReadyMs: ready.readyMs, loads: [], committedMs, restoredMs: performance.now() - t0, pipelined: false };
      return { report, timeline };
    }),
  );
  return { checkpoint: saved, ...outcomes(settled, saved) };
}

/** What the target's replay needs, known once the source has planned (blob entries come as each is saved). */
export async function replayInputOf(source: Recorder, prepared: PreparedCheckpoint, call: CallOptions): Promise<ReplayInput> {
  const { measurement, planned } = prepared;
  const groups = planned.plan.serialize.map((id) => planned.problem.groups.find((g) => g.id === id)!);
  // Placeholders: the load fills in the checksum and chunks of the blob actually saved.
  const blobs: BlobEntry[] = groups.map((g) => ({ file: `pending:${g.id}`, bytes: g.bytes, checksum: 'pending:', group: g.id, variables: [...g.names] }));
  const environment = await kernelEnvironment(source.client, savedPackages(measurement, blobs), call);
  const body = await checkpointBody(source, prepared, 0, call);
  // The order the source saves them in (serializePlanned with a pipeline): each load waits for less.
  const bytesOf = (group: string) => groups.find((g) => g.id === group)?.bytes ?? 0;
  return { environment, blobs, body: { ...body, plan: { ...body.plan, program: loadsSmallestFirst(body.plan.program, bytesOf) } } };
}

/** The load of a stored blob: the replay's spec (names, bind) with the blob's checksum and size, and where its bytes are. */
function loadSpec(spec: LoadSpec, entry: { checksum: string; bytes: number; chunkBytes?: number[] }, source: { chunks: string[] } | { staged: string }): LoadSpec {
  const { sha256: _sha, checksum: _sum, ...rest } = spec as LoadSpec & { sha256?: string; checksum?: string };
  return { ...rest, ...checksumField(entry.checksum), bytes: entry.bytes, ...source, ...(entry.chunkBytes ? { chunkBytes: entry.chunkBytes } : {}) };
}

function storedBlobOf(arrival: Arrival): StoredBlob {
  if ('error' in arrival) return { error: arrival.error };
  const { chunks, chunkBytes, bytes, checksum } = arrival.entry;
  // Format 3 lists each chunk's size; an older entry (reused) never reaches a stream.
  return chunks && chunkBytes ? { chunks, chunkBytes, bytes, checksum } : { error: 'its stored blob does not list its chunk sizes' };
}

export function checksumField(checksum: string): { sha256: string } | { checksum: string } {
  return checksum.startsWith('sha256:') ? { sha256: checksum.slice('sha256:'.length) } : { checksum };
}

function namesKey(names: readonly string[]): string {
  return JSON.stringify([...names].sort());
}

/**
 * The bounds of removing what an aborted target bound: not the caller's signal (aborted by then, it
 * would skip the cleanup). The removal runs after the target's in-flight request (a load the abort
 * did not stop), so it also removes what that load bound.
 */
export function cleanupCall(options: { timeoutMs?: number }): CallOptions {
  return { timeoutMs: options.timeoutMs };
}

