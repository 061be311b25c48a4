/**
 * Retention and garbage collection on an object store, with the semantics of the local store's
 * gc.ts: delete the checkpoints beyond `keep` / `keepWithin` (never the one LATEST names), then the
 * chunks no remaining manifest references; against concurrent writers by the leases of leases.ts.
 * A checkpoint is deleted manifest first, so it is never seen half deleted.
 */
import { GC_WRITER_WAIT_MS, MANIFEST_FILE, SIGNATURE_FILE, beyondRetention, checkGcOptions, isChunkName, referencedChunks, type GcOptions, type GcResult } from '@nbferry/store';
import { setTimeout as sleep } from 'node:timers/promises';
import { acquireGcLease, liveWriters } from './leases.js';
import type { S3Store } from './s3-store.js';

export interface S3GcOptions extends GcOptions {
  /**
   * Keep unreferenced chunks younger than this (ms, by their LastModified; default 0): a second
   * guard, for writers that do not take leases (another tool writing the same layout).
   */
  chunkGraceMs?: number;
}

export async function s3Gc(store: S3Store, options: S3GcOptions = {}): Promise<GcResult> {
  checkGcOptions(options);
  await store.assertBucket();
  const release = await acquireGcLease(store);
  try {
    const deadline = Date.now() + (options.waitForWritersMs ?? GC_WRITER_WAIT_MS);
    while ((await liveWriters(store)).length > 0) {
      if (Date.now() > deadline) return { deletedCheckpoints: [], keptCheckpoints: await store.list(), deletedChunks: 0, freedBytes: 0, swept: false, skipped: 'a checkpoint was still being written' };
      await sleep(100, undefined, { signal: options.signal });
    }
    const deletedCheckpoints = await deleteBeyondRetention(store, options);
    const kept = await store.list();
    const chunks = await referencedChunks(store, kept);
    if ('unreadable' in chunks) return { deletedCheckpoints, keptCheckpoints: kept, deletedChunks: 0, freedBytes: 0, swept: false, skipped: chunks.unreadable };
    let deletedChunks = 0;
    let freedBytes = 0;
    const now = options.now ?? Date.now();
    for await (const object of store.listObjects(store.key('chunks/'))) {
      const name = object.key.slice(object.key.lastIndexOf('/') + 1);
      if (!isChunkName(name) || chunks.referenced.has(name)) continue;
      if (now - object.modified < (options.chunkGraceMs ?? 0)) continue;
      await store.delete(object.key);
      deletedChunks += 1;
      freedBytes += object.size;
    }
    return { deletedCheckpoints, keptCheckpoints: kept, deletedChunks, freedBytes, swept: true };
  } finally {
    await release().catch(() => {});
  }
}

async function deleteBeyondRetention(store: S3Store, options: GcOptions): Promise<string[]> {
  const beyond = await beyondRetention(store, options);
  for (const id of beyond) {
    await store.delete(store.key(`checkpoints/${id}/${MANIFEST_FILE}`));
    await store.delete(store.key(`checkpoints/${id}/${SIGNATURE_FILE}`));
  }
  return beyond;
}
