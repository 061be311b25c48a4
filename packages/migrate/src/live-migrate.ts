/**
 * Live migration: move state from a running kernel to another running kernel with no disk in
 * between. The source serializes the planned groups into comm buffers, the coordinator hands them to
 * the target, the target replays and verifies. The source is only read, never changed: it keeps
 * running until the caller, having seen the verification, decides to stop it.
 */
import type { CallOptions, KernelClient } from '@nbferry/kernel';
import type { Recorder } from '@nbferry/recorder';
import { describeCheckpoint, prepareCheckpoint, serializePlanned, type CheckpointOptions } from './checkpoint.js';
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
  const call: CallOptions = { signal: options.signal, timeoutMs: options.timeoutMs };
  const prepared = await prepareCheckpoint(source, options);
  const t0 = performance.now();
  // Each save call returns its own buffers; a blob's [first, count] indexes that call's list.
  const bytesOf = new Map<SavedBlob, Uint8Array[]>();
  const saved = await serializePlanned(
    prepared,
    async (groups) => {
      const { blobs, buffers } = await saveToBuffers(source, groups, call);
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
  const blobs = options.blobTransfer?.(buffersByGroup) ?? { kind: 'buffers', buffers: buffersByGroup };
  const report = await replay(content, blobs, target, options);
  return {
    ...report,
    checkpointMs: t1 - prepared.startedAt,
    bytesMoved: content.blobs.reduce((sum, b) => sum + b.bytes, 0),
  };
}
