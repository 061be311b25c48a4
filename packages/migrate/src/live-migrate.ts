/**
 * Live migration: move state from a running kernel to another running kernel with no disk in
 * between. The source serializes the planned groups into comm buffers, the coordinator hands them to
 * the target, the target replays and verifies. The source is only read, never changed: it keeps
 * running until the caller, having seen the verification, decides to stop it.
 *
 * Pre-copy: when the source's checkpoints (its auto-checkpoints) go to a store the target can read
 * (`precopy`), groups unchanged since the last one are neither measured, pickled nor sent: the
 * target loads them from the store's chunks, and only what changed since crosses the wire.
 *
 * Pipelined (default): once the source has planned, the target starts the plan's program; each
 * load waits only for its own group, which the source serializes one request at a time, so the
 * target loads group k while the source pickles group k+1 (and loads pre-copied groups before the
 * source has serialized anything). A cell run on the source meanwhile makes the attempt stop: what
 * the target bound is removed and the migration starts over (`attempts`).
 */
import type { CallOptions, KernelClient } from '@nbferry/kernel';
import { deleteNames, ownedNames } from './owned-names.js';
import { checksumField, cleanupCall, replayInputOf } from './pipelined.js';
import { abortable, deferred, type Deferred } from './waiting.js';
import type { Recorder } from '@nbferry/recorder';
import type { BlobEntry, LocalStore } from '@nbferry/store';
import { describeCheckpoint, prepareCheckpoint, serializePlanned, throwIfStateMoved, type CheckpointOptions, type PreparedCheckpoint } from './checkpoint.js';
import { StateChangedError } from './errors.js';
import { measureSince, reusableBlobs } from './incremental.js';
import { lineageOf } from './lineage.js';
import { replay, type BlobSource, type CustomBlobLoader, type RestoreReport } from './restore.js';
import { load, saveToBuffers, type LoadSpec, type SavedBlob } from './shim-api.js';
import { importMissingModules, type PreparedTarget } from './warm-up.js';

export interface LiveMigrationOptions extends CheckpointOptions {
  force?: boolean;
  /** Report ok although some rerun variables came back different (RestoreOptions). */
  allowRecomputedDifferent?: boolean;
  /** How the source's blobs reach the target (default: as comm buffers of one `load` each). */
  blobTransfer?: (buffersByGroup: Map<string, Uint8Array[]>) => BlobSource;
  /**
   * The store the source's checkpoints go to (its AutoCheckpointer's), readable by the target: the
   * groups its last checkpoint there already holds unchanged are loaded from it instead of sent;
   * the others go by `blobTransfer` (if given).
   */
  precopy?: LocalStore;
  /** Restore while the source serializes (default true); false: serialize everything, then restore. */
  pipelined?: boolean;
  /** The target, readied by `prepareTarget` (e.g. a warm pool's kernel): no second shim injection or environment probe. */
  prepared?: PreparedTarget;
  /** The source's modules (`userModules`), when the caller has them already; else asked for. */
  modules?: readonly string[];
}

export interface LiveMigrationReport extends RestoreReport {
  checkpointMs: number;
  /** Bytes of the blobs sent from the source (serialized at migration time). */
  bytesMoved: number;
  /** Bytes of the blobs the target loaded from the `precopy` store: already stored before the migration. */
  bytesPrecopied: number;
  /** Pipelined: the loads that began before the source had serialized its last group. */
  loadsBeforeSerialized?: number;
}

export async function migrateLive(source: Recorder, target: KernelClient, options: LiveMigrationOptions = {}): Promise<LiveMigrationReport> {
  // A cell run on the source between measuring and saving makes the snapshot start over (as in
  // checkpointWith): the target only ever receives one consistent state.
  const attempts = Math.max(1, options.attempts ?? 3);
  // A staging lease: gc leaves the pre-copied chunks alone until the target has loaded them.
  const lease = await options.precopy?.begin({ signal: options.signal });
  // The target imports the source's modules it lacks (a warm pool's) while the source measures
  // and serializes; the replay's requests queue behind it on the target's shell.
  const importing = importMissingModules(source.client, target, options.prepared, options.modules, { signal: options.signal, timeoutMs: options.timeoutMs });
  importing.catch(() => {}); // awaited before each replay; this only avoids an unhandled rejection meanwhile
  try {
    for (let attempt = 1; ; attempt++) {
      if (options.pipelined !== false) {
        try {
          return await pipelinedAttempt(source, target, options, importing);
        } catch (error) {
          if (!(error instanceof StateChangedError)) throw error;
          if (attempt >= attempts) throw new StateChangedError(error.measuredSeq, error.currentSeq, attempt);
          options.onProgress?.({ phase: 'fallback', reason: `${error.message}; taking it again` });
          continue;
        }
      }
      let snapshot: Snapshot;
      try {
        snapshot = await takeSnapshot(source, options);
      } catch (error) {
        if (!(error instanceof StateChangedError)) throw error;
        if (attempt >= attempts) throw new StateChangedError(error.measuredSeq, error.currentSeq, attempt);
        options.onProgress?.({ phase: 'fallback', reason: `${error.message}; taking it again` });
        continue;
      }
      const { content, buffersByGroup, checkpointMs, precopied } = snapshot;
      const sent = options.blobTransfer?.(buffersByGroup) ?? { kind: 'buffers', buffers: buffersByGroup };
      const blobs = options.precopy && precopied.size > 0 ? fromStoreOrSent(options.precopy, precopied, sent) : sent;
      await importing;
      const report = await replay(content, blobs, target, options);
      const bytesPrecopied = content.blobs.filter((b) => precopied.has(b.group)).reduce((sum, b) => sum + b.bytes, 0);
      return { ...report, checkpointMs, bytesMoved: content.blobs.reduce((sum, b) => sum + b.bytes, 0) - bytesPrecopied, bytesPrecopied };
    }
  } finally {
    await lease?.abort();
  }
}

/** Pre-copied groups load from the store's chunks; the others as the source sent them (buffers, or the caller's transfer). */
function fromStoreOrSent(store: LocalStore, precopied: Map<string, BlobEntry>, sent: BlobSource): BlobSource {
  return {
    kind: 'custom',
    load: async (recorder, spec, group, call) => {
      const stored = precopied.get(group);
      if (stored?.chunks) return (await load(recorder, [{ ...spec, chunks: stored.chunks }], { ...call, chunksDir: store.chunksDir }))[0];
      if (sent.kind === 'custom') return sent.load(recorder, spec, group, call);
      if (sent.kind === 'dir') throw new TypeError('a live migration sends blobs, it does not read them from a directory');
      const buffers = sent.buffers.get(group)!;
      return (await load(recorder, [{ ...spec, buffers: [0, buffers.length] }], { ...call, buffers }))[0];
    },
  };
}

interface Snapshot {
  content: Awaited<ReturnType<typeof describeCheckpoint>>;
  buffersByGroup: Map<string, Uint8Array[]>;
  checkpointMs: number;
  /** Groups whose blobs the `precopy` store already holds (from the source's last checkpoint there). */
  precopied: Map<string, BlobEntry>;
}

/**
 * Measures and plans the source; with `precopy`, groups unchanged since the kernel's last checkpoint
 * in that store are reused and only what changed since is measured.
 */
async function prepareMigration(source: Recorder, options: LiveMigrationOptions, call: CallOptions): Promise<PreparedCheckpoint> {
  const store = options.precopy;
  if (!store) return prepareCheckpoint(source, options);
  // Asked of the kernel: its auto-checkpoints may be another process's (a platform's), not ours.
  const previous = await lineageOf(source, store, call);
  return prepareCheckpoint(source, options, (m) => reusableBlobs(source, m, previous, store.chunksDir), () => measureSince(source, previous));
}

async function takeSnapshot(source: Recorder, options: LiveMigrationOptions): Promise<Snapshot> {
  const call: CallOptions = { signal: options.signal, timeoutMs: options.timeoutMs };
  const prepared = await prepareMigration(source, options, call);
  const t0 = performance.now();
  // Each save call returns its own buffers; a blob's [first, count] indexes that call's list.
  const bytesOf = new Map<SavedBlob, Uint8Array[]>();
  const saved = await serializePlanned(
    prepared,
    async (groups) => {
      const { blobs, buffers } = await saveToBuffers(source, groups, call, { seq: prepared.measurement.seq });
      for (const blob of blobs) {
        if (blob.ok && blob.buffers) bytesOf.set(blob, buffers.slice(blob.buffers[0], blob.buffers[0] + blob.buffers[1]));
      }
      return blobs;
    },
    options,
  );
  const buffersByGroup = new Map([...saved].map(([group, blob]) => [group, bytesOf.get(blob)!]));
  const t1 = performance.now();
  const content = await describeCheckpoint(source, prepared, saved, (_blob, group) => `buffers:${group}`, t1 - t0, call);
  await throwIfStateMoved(source, prepared, call);
  return { content, buffersByGroup, checkpointMs: t1 - prepared.startedAt, precopied: prepared.reused ?? new Map() };
}

type LiveArrival = { stored: BlobEntry } | { sent: SavedBlob; buffers: Uint8Array[] } | { error: string };

/**
 * One pipelined attempt: plan on the source, start the target's replay, serialize group by group
 * (each handed to the target as it comes), check the cut. A StateChangedError leaves the target as
 * it was before the attempt (what the replay bound is removed).
 */
async function pipelinedAttempt(source: Recorder, target: KernelClient, options: LiveMigrationOptions, importing: Promise<void>): Promise<LiveMigrationReport> {
  const call: CallOptions = { signal: options.signal, timeoutMs: options.timeoutMs };
  const store = options.precopy;
  const prepared = await prepareMigration(source, options, call);
  const input = await replayInputOf(source, prepared, call);
  await importing;
  const arrivals = new Map<string, Deferred<LiveArrival>>();
  const idByNames = new Map<string, string>();
  for (const group of prepared.planned.plan.serialize) {
    const arrival = deferred<LiveArrival>();
    const stored = prepared.reused?.get(group);
    if (stored) arrival.resolve({ stored });
    arrivals.set(group, arrival);
    idByNames.set(JSON.stringify([...(prepared.planned.problem.groups.find((g) => g.id === group)?.names ?? [])].sort()), group);
  }
  const stop = new AbortController();
  const onOuterAbort = () => stop.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onOuterAbort, { once: true });
  let bytesMoved = 0;
  let bytesPrecopied = 0;
  let serialized = false;
  let loadsBeforeSerialized = 0;
  const loadArrived: CustomBlobLoader = async (recorder, spec, group, loadCall) => {
    const arrival = await abortable(arrivals.get(group)?.promise ?? Promise.resolve<LiveArrival>({ error: 'not in the plan the source saved' }), loadCall.signal);
    if ('error' in arrival) return { ok: false, error: { kind: 'save', message: `the source could not save it: ${arrival.error}` }, seconds: 0 };
    if (!serialized) loadsBeforeSerialized += 1;
    const { sha256: _sha, checksum: _sum, ...rest } = spec as LoadSpec & { sha256?: string; checksum?: string };
    if ('stored' in arrival) {
      const entry = arrival.stored;
      if (!entry.chunks || !store) return { ok: false, error: { kind: 'format', message: 'its stored blob is not in the chunks directory' }, seconds: 0 };
      bytesPrecopied += entry.bytes;
      const full: LoadSpec = { ...rest, ...checksumField(entry.checksum), bytes: entry.bytes, chunks: entry.chunks, ...(entry.chunkBytes ? { chunkBytes: entry.chunkBytes } : {}) };
      return (await load(recorder, [full], { ...loadCall, chunksDir: store.chunksDir }))[0];
    }
    const blob = arrival.sent;
    bytesMoved += blob.bytes ?? 0;
    const full: LoadSpec = { ...rest, ...checksumField(blob.checksum ?? `sha256:${blob.sha256!}`), bytes: blob.bytes!, ...(blob.chunkBytes ? { chunkBytes: blob.chunkBytes } : {}) };
    const via = options.blobTransfer?.(new Map([[group, arrival.buffers]]));
    if (via?.kind === 'custom') return via.load(recorder, full, group, loadCall);
    return (await load(recorder, [{ ...full, buffers: [0, arrival.buffers.length] }], { ...loadCall, buffers: arrival.buffers }))[0];
  };
  // Not interrupted on abort (it could break what the target is importing): cleaned below instead.
  const running = replay(input, { kind: 'custom', load: loadArrived }, target, { ...options, signal: stop.signal, interruptOnAbort: false });
  running.catch(() => {}); // awaited below
  try {
    await serializePlanned(
      prepared,
      async (groups) => {
        const blobs: SavedBlob[] = [];
        for (const names of groups) {
          const { blobs: [blob], buffers } = await saveToBuffers(source, [names], call, { seq: prepared.measurement.seq });
          blobs.push(blob!);
          const group = idByNames.get(JSON.stringify([...names].sort()));
          const arrival = group === undefined ? undefined : arrivals.get(group);
          if (blob!.ok && blob!.buffers) arrival?.resolve({ sent: blob!, buffers: buffers.slice(blob!.buffers[0], blob!.buffers[0] + blob!.buffers[1]) });
          else arrival?.resolve({ error: blob!.error?.message ?? 'serialization failed' });
        }
        return blobs;
      },
      options,
    );
    serialized = true;
    await throwIfStateMoved(source, prepared, call);
  } catch (error) {
    for (const arrival of arrivals.values()) arrival.resolve({ error: 'the snapshot failed' });
    stop.abort(error);
    await running.catch(() => undefined);
    await deleteNames(target, ownedNames(input.body.problem), cleanupCall(options)).catch(() => {});
    options.signal?.removeEventListener('abort', onOuterAbort);
    throw error;
  }
  const checkpointMs = performance.now() - prepared.startedAt;
  try {
    const report = await running;
    return { ...report, checkpointMs, bytesMoved, bytesPrecopied, loadsBeforeSerialized };
  } finally {
    options.signal?.removeEventListener('abort', onOuterAbort);
  }
}
