/**
 * Checkpoint and restore for kernels that do not share the coordinator's file system (a kernel on
 * a Jupyter Server on another machine, in a JupyterHub pod, ...): the blobs travel over the kernel
 * connection instead of through a directory both can see.
 *
 * - checkpointOverWire: the kernel returns each group's blob in a reply's buffers (`save_buffers`,
 *   one group per request, so no reply holds more than one blob) and the coordinator writes it into
 *   the store, durably; the manifest is committed as by `checkpoint`.
 * - restoreOverWire: `restore`, with the blobs read from the store and uploaded in chunks.
 */
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { KernelClient } from '@nbferry/kernel';
import {
  checkpointWith,
  restore,
  type CheckpointBody,
  type CheckpointOptions,
  type CheckpointResult,
  type RestoreOptions,
  type RestoreReport,
  saveToBuffers,
  type SavedBlob,
} from '@nbferry/migrate';
import type { Recorder } from '@nbferry/recorder';
import { openCheckpoint, type LocalStore, type StoredCheckpoint } from '@nbferry/store';
import { stagedCheckpointFiles, type StagingOptions } from './staging.js';

export function checkpointOverWire(recorder: Recorder, store: LocalStore, options: CheckpointOptions = {}): Promise<CheckpointResult> {
  let index = 0;
  return checkpointWith(
    recorder,
    store,
    async (groups, blobsDir, call, guard) => {
      const blobs: SavedBlob[] = [];
      for (const names of groups) {
        // The guard's seq makes the kernel refuse (StateChangedError) once a cell ran since measuring,
        // before any more bytes cross the websocket; the checkpoint then starts over.
        const reply = await saveToBuffers(recorder, [names], call, guard);
        const blob = reply.blobs[0]!;
        const buffers = reply.buffers;
        if (blob.ok && blob.buffers) {
          const file = `group-${String(index++).padStart(4, '0')}.nbf`;
          await writeDurably(join(blobsDir, file), buffers.slice(blob.buffers[0], blob.buffers[0] + blob.buffers[1]));
          blobs.push({ ...blob, file });
        } else {
          blobs.push(blob);
        }
      }
      return blobs;
    },
    options,
  );
}

/** Restores a checkpoint from the coordinator's store into `target`, uploading blobs in chunks. */
export async function restoreOverWire(
  source: string | StoredCheckpoint<CheckpointBody>,
  target: KernelClient,
  options: RestoreOptions & StagingOptions = {},
): Promise<RestoreReport> {
  const checkpoint = typeof source === 'string' ? await openCheckpoint<CheckpointBody>(source, options) : source;
  // A checkpoint in an object store: restore already stages its chunks from the bucket, under the websocket limit.
  if (checkpoint.remote) return restore(checkpoint, target, options);
  return restore(checkpoint, target, { ...options, blobSource: stagedCheckpointFiles(checkpoint, options) });
}

async function writeDurably(path: string, parts: Uint8Array[]): Promise<void> {
  const file = await open(path, 'wx', 0o600);
  try {
    for (const part of parts) {
      for (let at = 0; at < part.byteLength; ) {
        const { bytesWritten } = await file.write(part, at, part.byteLength - at);
        at += bytesWritten;
      }
    }
    await file.sync();
  } finally {
    await file.close();
  }
}
