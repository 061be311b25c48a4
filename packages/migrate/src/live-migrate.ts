/**
 * Live migration: move state from a running kernel to another running kernel with no disk in
 * between. The source serializes the planned groups into comm buffers, the coordinator hands them to
 * the target, the target replays and verifies. The source is only read, never changed: it keeps
 * running until the caller, having seen the verification, decides to stop it.
 */
import type { CallOptions, KernelClient } from '@nbferry/kernel';
import type { Recorder } from '@nbferry/recorder';
import { describeCheckpoint, prepareCheckpoint, serializePlanned, throwIfStateMoved, type CheckpointOptions } from './checkpoint.js';
import { StateChangedError } from './errors.js';
import { replay, type BlobSource, type RestoreReport } from './restore.js';
import { saveToBuffers, type SavedBlob } from './shim-api.js';

export interface LiveMigrationOptions extends CheckpointOptions {
  force?: boolean;
  /** Report ok although some rerun variables came back different (RestoreOptions). */
  allowRecomputedDifferent?: boolean;
  /** How the source's blobs reach the target (default: as comm buffers of one `load` each). */
  blobTransfer?: (buffersByGroup: Map<string, Uint8Array[]>) => BlobSource;
}

export interface LiveMigrationReport extends RestoreReport {
  checkpointMs: number;
  bytesMoved: number;
}

export async function migrateLive(source: Recorder, target: KernelClient, options: LiveMigrationOptions = {}): Promise<LiveMigrationReport> {
  // A cell run on the source between measuring and saving makes the snapshot start over (as in
  // checkpointWith): the target only ever receives one consistent state.
  const attempts = Math.max(1, options.attempts ?? 3);
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
    const { content, buffersByGroup, checkpointMs } = snapshot;
    const blobs = options.blobTransfer?.(buffersByGroup) ?? { kind: 'buffers', buffers: buffersByGroup };
    const report = await replay(content, blobs, target, options);
    return { ...report, checkpointMs, bytesMoved: content.blobs.reduce((sum, b) => sum + b.bytes, 0) };
  }
}

interface Snapshot {
  content: Awaited<ReturnType<typeof describeCheckpoint>>;
  buffersByGroup: Map<string, Uint8Array[]>;
  checkpointMs: number;
}

async function takeSnapshot(source: Recorder, options: LiveMigrationOptions): Promise<Snapshot> {
  const call: CallOptions = { signal: options.signal, timeoutMs: options.timeoutMs };
  const prepared = await prepareCheckpoint(source, options);
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
  return { content, buffersByGroup, checkpointMs: t1 - prepared.startedAt };
}
