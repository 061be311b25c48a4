/**
 * Live migration: move state from a running kernel to another running kernel with no disk in
 * between. The source serializes the planned groups into comm buffers, the coordinator hands them to
 * the target, the target replays and verifies. The source is only read, never changed: it keeps
 * running until the caller, having seen the verification, decides to stop it.
 *
 * Pre-copy: when the source's checkpoints (its auto-checkpoints) go to a store the target can read
 * (`precopy`), groups unchanged since the last one are neither measured, pickled nor sent: the
 * target loads them from the store's chunks, and only what changed since crosses the wire.
 */
import type { CallOptions, KernelClient } from '@nbferry/kernel';
import type { Recorder } from '@nbferry/recorder';
import type { BlobEntry, LocalStore } from '@nbferry/store';
import { describeCheckpoint, prepareCheckpoint, serializePlanned, throwIfStateMoved, type CheckpointOptions } from './checkpoint.js';
import { StateChangedError } from './errors.js';
import { measureSince, reusableBlobs } from './incremental.js';
import { lineageOf } from './lineage.js';
import { replay, type BlobSource, type RestoreReport } from './restore.js';
import { load, saveToBuffers, type SavedBlob } from './shim-api.js';

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
}

export interface LiveMigrationReport extends RestoreReport {
  checkpointMs: number;
  /** Bytes of the blobs sent from the source (serialized at migration time). */
  bytesMoved: number;
  /** Bytes of the blobs the target loaded from the `precopy` store: already stored before the migration. */
  bytesPrecopied: number;
}

export async function migrateLive(source: Recorder, target: KernelClient, options: LiveMigrationOptions = {}): Promise<LiveMigrationReport> {
  // A cell run on the source between measuring and saving makes the snapshot start over (as in
  // checkpointWith): the target only ever receives one consistent state.
  const attempts = Math.max(1, options.attempts ?? 3);
  // A staging lease: gc leaves the pre-copied chunks alone until the target has loaded them.
  const lease = await options.precopy?.begin({ signal: options.signal });
  try {
    for (let attempt = 1; ; attempt++) {
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

async function takeSnapshot(source: Recorder, options: LiveMigrationOptions): Promise<Snapshot> {
  const call: CallOptions = { signal: options.signal, timeoutMs: options.timeoutMs };
  const store = options.precopy;
  // Asked of the kernel: its auto-checkpoints may be another process's (a platform's), not ours.
  const previous = store ? await lineageOf(source, store, call) : undefined;
  const prepared = store
    ? await prepareCheckpoint(source, options, (m) => reusableBlobs(source, m, previous, store.chunksDir), () => measureSince(source, previous))
    : await prepareCheckpoint(source, options);
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
