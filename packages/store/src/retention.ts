/**
 * What a gc keeps, for every store's gc (each deletes in its own way): the checkpoints within the
 * retention (never the latest), and the chunks those reference.
 */
import { StoreError } from './errors.js';
import type { GcOptions } from './gc.js';
import type { CheckpointStore } from './store-api.js';

/** `keep` and `keepWithin` must be non-negative numbers. */
export function checkGcOptions(options: GcOptions): void {
  for (const [name, value] of [['keep', options.keep], ['keepWithin', options.keepWithin]] as const) {
    if (value !== undefined && !(Number.isFinite(value) && value >= 0)) {
      throw new StoreError(`gc: ${name} must be a non-negative number, got ${String(value)}`, 'GC_OPTION');
    }
  }
}

/** Ids beyond the retention, oldest first (as `list` orders them). */
export async function beyondRetention(store: Pick<CheckpointStore, 'latestId' | 'list' | 'open'>, options: GcOptions): Promise<string[]> {
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
  const beyond: string[] = [];
  for (const [rank, { id, time }] of dated.entries()) {
    const keptByCount = options.keep !== undefined && rank < options.keep;
    const keptByAge = options.keepWithin !== undefined && now - time < options.keepWithin;
    if (id !== latest && !keptByCount && !keptByAge) beyond.push(id);
  }
  return beyond.reverse();
}

/**
 * Every chunk the checkpoints `kept` reference, or the first one that cannot be read: its
 * references are unknown, so nothing may be swept (deleting a chunk it might need would be worse
 * than keeping garbage).
 */
export async function referencedChunks(
  store: Pick<CheckpointStore, 'open'>,
  kept: readonly string[],
): Promise<{ referenced: Set<string> } | { unreadable: string }> {
  const referenced = new Set<string>();
  for (const id of kept) {
    let manifest;
    try {
      manifest = (await store.open(id, {})).manifest;
    } catch (error) {
      return { unreadable: `checkpoint ${id} is unreadable (${(error as Error).message})` };
    }
    for (const blob of manifest.blobs) for (const chunk of blob.chunks ?? []) referenced.add(chunk);
  }
  return { referenced };
}
