/**
 * Retention and garbage collection on an object store, with the semantics of the local store's
 * gc.ts: delete the checkpoints beyond `keep` / `keepWithin` (never the one LATEST names), then the
 * chunks no remaining manifest references; against concurrent writers by the leases of leases.ts.
 * A checkpoint is deleted manifest first, so it is never seen half deleted.
 */
import { GC_WRITER_WAIT_MS, MANIFEST_FILE, SIGNATURE_FILE, StoreError, isChunkName, type GcOptions, type GcResult } from '@nbferry/store';
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
  for (const [name, value] of [['keep', options.keep], ['keepWithin', options.keepWithin]] as const) {
    if (value !== undefined && !(Number.isFinite(value) && value >= 0)) {
      throw new StoreError(`gc: ${name} must be a non-negative number, got ${String(value)}`, 'GC_OPTION');
    }
  }
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
    const referenced = new Set<string>();
    for (const id of kept) {
      let manifest;
      try {
        manifest = (await store.open(id, {})).manifest;
      } catch (error) {
        return { deletedCheckpoints, keptCheckpoints: kept, deletedChunks: 0, freedBytes: 0, swept: false, skipped: `checkpoint ${id} is unreadable (${(error as Error).message})` };
      }
      for (const blob of manifest.blobs) for (const chunk of blob.chunks ?? []) referenced.add(chunk);
    }
    let deletedChunks = 0;
    let freedBytes = 0;
    const now = options.now ?? Date.now();
    for await (const object of store.listObjects(store.key('chunks/'))) {
      const name = object.key.slice(object.key.lastIndexOf('/') + 1);
      if (!isChunkName(name) || referenced.has(name)) continue;
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
  if (options.keep === undefined && options.keepWithin === undefined) return [];
  const now = options.now ?? Date.now();
  const latest = await store.latestId();
  const dated: { id: string; time: number }[] = [];
  for (const id of await store.list()) {
    try {
      dated.push({ id, time: Date.parse((await store.open(id, {})).manifest.createdAt) });
    } catch {
      // Unreadable: not ours to judge by age; it stays (and blocks the sweep).
    }
  }
  dated.sort((a, b) => b.time - a.time || (a.id < b.id ? 1 : -1));
  const deleted: string[] = [];
  for (const [rank, { id, time }] of dated.entries()) {
    const keptByCount = options.keep !== undefined && rank < options.keep;
    const keptByAge = options.keepWithin !== undefined && now - time < options.keepWithin;
    if (id === latest || keptByCount || keptByAge) continue;
    await store.delete(store.key(`checkpoints/${id}/${MANIFEST_FILE}`));
    await store.delete(store.key(`checkpoints/${id}/${SIGNATURE_FILE}`));
    deleted.push(id);
  }
  return deleted.reverse();
}
