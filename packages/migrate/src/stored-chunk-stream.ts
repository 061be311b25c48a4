/**
 * A big group streamed from a local store into a target while the source is still writing it. The
 * source's save pushes each chunk once it is stored (`saved_chunks`, a `savedChunks` event); each
 * target reads those chunks into a staged buffer (`stage_stored_chunks`), checking every chunk's
 * SHA-256 against its name itself, and once the save lists the whole blob stages the rest and loads
 * the buffer (`load {staged}`), which checks the blob's checksum from the staged digests. The
 * reading overlaps the writing instead of starting after the last chunk.
 */
import type { CallOptions } from '@nbferry/kernel';
import type { Recorder, SavedChunksEvent } from '@nbferry/recorder';
import { MigrationError } from './errors.js';
import { abortable, deferred, type Deferred } from './waiting.js';

/** Groups of at least this many bytes are streamed; a smaller one loads whole once it is stored. */
export const STREAM_CHUNKS_OVER = 16 * 1024 * 1024;

/** A chunk in the store is missing or does not match its name: the target loaded nothing of the group. */
export class StoredChunkError extends MigrationError {
  override name = 'StoredChunkError';
  constructor(
    readonly group: string,
    readonly kind: string,
    detail: string,
  ) {
    super(
      `a stored chunk of group ${group} failed its check in the target (${detail}): the store's chunks directory is damaged ` +
        'or was changed under the checkpoint. Nothing of the group was loaded; remove the damaged chunk and checkpoint again.',
      'STORED_CHUNK_DAMAGED',
    );
  }
}

/** The chunks of one group stored so far, in order, as the source pushes them; one per group, read by every target. */
export class StoredChunkFeed {
  readonly chunks: string[] = [];
  readonly sizes: number[] = [];
  /** The whole blob's size (0 until the first push). */
  bytes = 0;
  /** A push that did not continue the chunks so far (a save started over): targets wait for the saved list. */
  broken = false;
  private covered = 0;
  private changed: Deferred<void> = deferred();

  add(event: SavedChunksEvent): void {
    if (event.offset !== this.covered || event.chunks.length !== event.chunkBytes.length) this.broken = true;
    if (!this.broken) {
      this.bytes = event.bytes;
      this.chunks.push(...event.chunks);
      this.sizes.push(...event.chunkBytes);
      this.covered += sum(event.chunkBytes);
    }
    const was = this.changed;
    this.changed = deferred();
    was.resolve();
  }

  /** Resolves at the next push. */
  next(): Promise<void> {
    return this.changed.promise;
  }
}

/** What the saved blob says in the end: its chunks and sizes, or why it could not be saved. */
export type StoredBlob = { chunks: string[]; chunkBytes: number[]; bytes: number; checksum: string } | { error: string };

/**
 * Stages the group's chunks into `target` under `key` as they are stored, then the rest once the
 * save lists them all (`saved`). Returns the saved blob (staged whole), or its error (nothing
 * staged). Throws StoredChunkError when a chunk fails its check.
 */
export async function stageStoredChunks(
  target: Recorder,
  feed: StoredChunkFeed,
  saved: Promise<StoredBlob>,
  where: { key: string; group: string; chunksDir: string },
  call: CallOptions,
  /** Called as the first chunks are staged. */
  onFirst: () => void = () => {},
): Promise<StoredBlob> {
  let staged = 0;
  let offset = 0;
  const stage = async (chunks: string[], sizes: number[], bytes: number): Promise<void> => {
    if (chunks.length === 0) return;
    if (staged === 0) onFirst();
    const args = { key: where.key, chunksDir: where.chunksDir, bytes, offset, chunks, chunkBytes: sizes };
    const { result } = await target.request<{ bytes: number; error?: { kind: string; message: string } }>('stage_stored_chunks', args, call);
    if (result.error) throw new StoredChunkError(where.group, result.error.kind, result.error.message);
    staged += chunks.length;
    offset += sum(sizes);
  };
  const done = saved.then((blob) => ({ blob }));
  for (;;) {
    const pushed = feed.next(); // taken before reading the feed: a push meanwhile is not missed
    if (!feed.broken && feed.chunks.length > staged) {
      await stage(feed.chunks.slice(staged), feed.sizes.slice(staged), feed.bytes);
      continue;
    }
    const settled = await abortable(Promise.race([done, pushed.then(() => undefined)]), call.signal);
    if (!settled) continue;
    const { blob } = settled;
    if ('error' in blob) return blob;
    // The saved list is what the checksum commits to; the streamed part must be its beginning.
    const streamed = feed.chunks.slice(0, staged);
    if (streamed.some((digest, i) => blob.chunks[i] !== digest)) {
      throw new StoredChunkError(where.group, 'format', 'the chunks pushed while saving are not the ones the save listed');
    }
    await stage(blob.chunks.slice(staged), blob.chunkBytes.slice(staged), blob.bytes);
    return blob;
  }
}

/** Forgets what was staged under `key` (a failed or abandoned load); best effort. */
export async function dropStaged(target: Recorder, key: string, call: CallOptions): Promise<void> {
  await target.request('stage_drop', { keys: [key] }, call).catch(() => {});
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
