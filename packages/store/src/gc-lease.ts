/**
 * Garbage collection against concurrent writers (format 2), without timing assumptions.
 *
 * A writer holds its staging lease (`.staging/<id>.lease`) from `begin()` until its manifest is
 * committed or discarded; while it holds it, the kernel may write chunks or find them already
 * stored (deduplication) and the coordinator may reuse blob entries of an earlier manifest. None of
 * those chunks is referenced by a committed manifest yet, so gc must not delete chunks then.
 *
 * - gc takes `.gc.lease` (created exclusively), then waits until no staging lease is live; only
 *   then does it delete manifests and sweep chunks, and it releases `.gc.lease` when done.
 * - A writer takes its staging lease, then looks for a live `.gc.lease`; if there is one it gives
 *   its lease back, waits for gc to finish, and starts over.
 *
 * Each side writes its lease before it reads the other's, so at least one of them sees the other:
 * either the writer waits (gc sweeps with no writer in flight), or gc sees the writer and waits for
 * it to finish (or gives up sweeping after `waitForWritersMs`). A gc or writer that crashed holding
 * its lease is recognised as gone (staging-lease.ts) and does not block the other.
 */
import { link, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StoreError } from './errors.js';
import { LEASE_SUFFIX, currentOwner, isAbandoned } from './staging-lease.js';

export const GC_LEASE = '.gc.lease';

/** Another gc holds the store: this one did nothing. */
export class GcBusyError extends StoreError {
  override name = 'GcBusyError';
  constructor(root: string) {
    super(`store ${root} is being garbage-collected by another process; try again when it is done`, 'GC_BUSY');
  }
}

/** A writer waited too long for a gc to finish. */
export class StoreBusyError extends StoreError {
  override name = 'StoreBusyError';
  constructor(root: string, waitedMs: number) {
    super(`store ${root} has been garbage-collected by another process for ${Math.round(waitedMs / 1000)} s; the checkpoint was not started (try again)`, 'STORE_BUSY');
  }
}

/** Takes `.gc.lease`; GcBusyError if a live gc holds it. Returns its release. */
export async function acquireGcLease(root: string): Promise<() => Promise<void>> {
  const path = join(root, GC_LEASE);
  for (let attempt = 0; ; attempt++) {
    try {
      await createWhole(path, JSON.stringify(currentOwner()));
      return () => rm(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new GcBusyError(root);
        throw error;
      }
      if (!(await isAbandoned(path, path))) throw new GcBusyError(root);
      await rm(path, { force: true }); // its gc crashed: take over
    }
  }
}

/**
 * Creates `path` with `text` only if it does not exist (EEXIST otherwise), never visible half
 * written: a gc killed mid-write must not leave an empty lease that reads as a live, unknown owner.
 */
async function createWhole(path: string, text: string): Promise<void> {
  const temp = `${path}-tmp-${process.pid}`;
  await writeFile(temp, text, { mode: 0o600 });
  try {
    await link(temp, path);
  } finally {
    await rm(temp, { force: true });
  }
}

/** Is a gc (alive) holding the store? */
export async function gcRunning(root: string): Promise<boolean> {
  const path = join(root, GC_LEASE);
  try {
    return !(await isAbandoned(path, path)); // no lease file: abandoned (nothing running)
  } catch {
    return false;
  }
}

/** Ids of staging directories whose writer is alive. */
export async function liveWriters(stagingDir: string): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(stagingDir);
  } catch {
    return [];
  }
  const live: string[] = [];
  for (const entry of entries.filter((e) => e.endsWith(LEASE_SUFFIX))) {
    const id = entry.slice(0, -LEASE_SUFFIX.length);
    if (!(await isAbandoned(join(stagingDir, entry), join(stagingDir, id)))) live.push(id);
  }
  return live;
}
