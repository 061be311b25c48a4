/**
 * Retention and garbage collection: delete the checkpoints beyond the retention (never the one
 * LATEST names), then the chunks no remaining checkpoint references. Safe against concurrent
 * writers by the lease protocol of gc-lease.ts; a reader restoring a checkpoint that gc deletes
 * fails that restore (keep what may still be restored).
 */
import { existsSync } from 'node:fs';
import { lstat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isChunkName } from './chunks.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { acquireGcLease, liveWriters } from './gc-lease.js';
import type { LocalStore } from './local-store.js';
import { beyondRetention, checkGcOptions, referencedChunks } from './retention.js';

export interface GcOptions {
  /** Keep the newest `keep` checkpoints (by creation time). */
  keep?: number;
  /** Keep every checkpoint created less than this many milliseconds ago. */
  keepWithin?: number;
  /** How long to wait for writers in flight before giving up the chunk sweep (default 30 s). */
  waitForWritersMs?: number;
  signal?: AbortSignal;
  /** Clock, for tests. */
  now?: number;
}

export interface GcResult {
  deletedCheckpoints: string[];
  keptCheckpoints: string[];
  deletedChunks: number;
  freedBytes: number;
  /** False when chunks were not swept (why in `skipped`); checkpoints may still have been deleted. */
  swept: boolean;
  skipped?: string;
}

/** Default writer wait: a gc is a background chore, a checkpoint in flight finishes first. */
export const GC_WRITER_WAIT_MS = 30_000;

/**
 * With neither `keep` nor `keepWithin`, every checkpoint is kept and only unreferenced chunks go.
 * With both, a checkpoint is kept if either keeps it.
 */
export async function gc(store: LocalStore, options: GcOptions = {}): Promise<GcResult> {
  checkGcOptions(options);
  if (!existsSync(store.root)) return { deletedCheckpoints: [], keptCheckpoints: [], deletedChunks: 0, freedBytes: 0, swept: true };
  await store.cleanStaging().catch(() => []);
  const release = await acquireGcLease(store.root);
  try {
    // Writers that began before our lease finish first; later ones wait for us (gc-lease.ts).
    const deadline = Date.now() + (options.waitForWritersMs ?? GC_WRITER_WAIT_MS);
    while ((await liveWriters(join(store.root, '.staging'))).length > 0) {
      if (Date.now() > deadline) return { deletedCheckpoints: [], keptCheckpoints: await store.list(), deletedChunks: 0, freedBytes: 0, swept: false, skipped: 'a checkpoint was still being written' };
      await sleep(20, undefined, { signal: options.signal });
    }
    const deletedCheckpoints = await deleteBeyondRetention(store, options);
    const kept = await store.list();
    const chunks = await referencedChunks(store, kept);
    if ('unreadable' in chunks) return { deletedCheckpoints, keptCheckpoints: kept, deletedChunks: 0, freedBytes: 0, swept: false, skipped: chunks.unreadable };
    const { deletedChunks, freedBytes } = await sweepChunks(store.chunksDir, chunks.referenced);
    return { deletedCheckpoints, keptCheckpoints: kept, deletedChunks, freedBytes, swept: true };
  } finally {
    await release();
  }
}

async function deleteBeyondRetention(store: LocalStore, options: GcOptions): Promise<string[]> {
  const beyond = await beyondRetention(store, options);
  for (const id of beyond) await rm(join(store.root, 'checkpoints', id), { recursive: true, force: true });
  return beyond;
}

/** Deletes chunk files not in `referenced`, and temp files a crashed writer left (no writer is in flight now). */
async function sweepChunks(chunksDir: string, referenced: Set<string>): Promise<{ deletedChunks: number; freedBytes: number }> {
  let deletedChunks = 0;
  let freedBytes = 0;
  let subs: string[];
  try {
    subs = await readdir(chunksDir);
  } catch {
    return { deletedChunks, freedBytes };
  }
  for (const sub of subs) {
    const dir = join(chunksDir, sub);
    const info = await lstat(dir);
    if (!info.isDirectory()) continue; // never follow a planted link out of the store
    for (const name of await readdir(dir)) {
      const temp = name.startsWith('.tmp-');
      if (!temp && (!isChunkName(name) || referenced.has(name))) continue;
      const path = join(dir, name);
      const entry = await lstat(path).catch(() => undefined);
      if (!entry?.isFile()) continue;
      await rm(path, { force: true });
      if (!temp) deletedChunks += 1;
      freedBytes += entry.size;
    }
  }
  return { deletedChunks, freedBytes };
}
