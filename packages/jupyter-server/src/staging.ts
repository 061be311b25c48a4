/**
 * Getting blobs into a kernel behind a Jupyter Server, whose websocket refuses client messages of
 * 10 MiB or more: a blob larger than one chunk is uploaded with the shim's `stage_chunk` op in
 * pieces below the limit, then loaded with `load {staged: key}` (python-shim/PROTOCOL.md §9). A blob
 * that fits in one message goes in the `load` request's own buffers, as before.
 *
 * These are restore's `custom` BlobSources: `stagedBuffers` for live migration (bytes in memory),
 * `stagedCheckpointFiles` for a checkpoint on the coordinator's disk (read chunk by chunk).
 */
import { randomUUID } from 'node:crypto';
import type { CallOptions } from '@nbferry/kernel';
import type { BlobSource, CustomBlobLoader, LoadResult, LoadSpec } from '@nbferry/migrate';
import type { Recorder } from '@nbferry/recorder';
import { UnsafeStoreEntryError, openRegularFile, readChunkedBlob, type StoredCheckpoint } from '@nbferry/store';
import { ServerTransport } from './server-transport.js';

/** Bytes per chunk: 8 MiB, well under tornado's 10 MiB with the message's own overhead. */
export const DEFAULT_CHUNK_BYTES = 8 * 1024 * 1024;
/** Room left in a message for its header, content and msgpack args. */
const MESSAGE_OVERHEAD_BYTES = 64 * 1024;

export interface StagingOptions {
  /** Largest chunk per message (default: 8 MiB, or less when the transport's limit is lower). */
  chunkBytes?: number;
}

/** Where a blob's bytes come from: pieces already in memory, or a reader of pieces of any size. */
export type BlobBytes = Uint8Array[] | (() => AsyncIterable<Uint8Array>);

/** The chunk size to use with this recorder's kernel connection. */
export function chunkBytesFor(recorder: Recorder, options: StagingOptions = {}): number {
  const transport = recorder.client.transport;
  const limit = transport instanceof ServerTransport ? transport.maxMessageBytes - MESSAGE_OVERHEAD_BYTES : Infinity;
  const chunk = Math.min(options.chunkBytes ?? DEFAULT_CHUNK_BYTES, limit);
  if (!(chunk > 0)) throw new RangeError(`chunk size ${chunk} is not positive (is the connection's maxMessageBytes too small?)`);
  return chunk;
}

/** Uploads a blob under `key` in chunks of at most `chunkBytes`; resolves with the bytes staged. */
export async function stageBlob(recorder: Recorder, key: string, bytes: BlobBytes, chunkBytes: number, options: CallOptions = {}): Promise<number> {
  let offset = 0;
  for await (const chunk of rechunk(bytes, chunkBytes)) {
    const size = chunk.reduce((sum, b) => sum + b.byteLength, 0);
    await recorder.request('stage_chunk', { key, offset }, { ...options, buffers: chunk });
    offset += size;
  }
  if (offset === 0) await recorder.request('stage_chunk', { key, offset: 0 }, options);
  return offset;
}

/** A loader that sends small blobs in the load request and stages larger ones first. */
export function stagedLoader(bytesOf: (group: string) => BlobBytes, options: StagingOptions = {}): CustomBlobLoader {
  return async (recorder: Recorder, spec: LoadSpec, group: string, call: CallOptions): Promise<LoadResult | undefined> => {
    const chunkBytes = chunkBytesFor(recorder, options);
    const bytes = bytesOf(group);
    if (Array.isArray(bytes) && bytes.reduce((sum, b) => sum + b.byteLength, 0) <= chunkBytes) {
      const { result } = await recorder.request<{ results: LoadResult[] }>('load', { blobs: [{ ...spec, buffers: [0, bytes.length] }] }, { ...call, buffers: bytes });
      return result.results[0];
    }
    const key = `${group}-${randomUUID()}`;
    try {
      await stageBlob(recorder, key, bytes, chunkBytes, call);
    } catch (error) {
      // Free what was staged; the kernel may be gone, which frees it too.
      await recorder.request('stage_drop', { keys: [key] }, { timeoutMs: 10_000 }).catch(() => {});
      throw error;
    }
    const { result } = await recorder.request<{ results: LoadResult[] }>('load', { blobs: [{ ...spec, staged: key }] }, call);
    return result.results[0];
  };
}

/** Live migration's blobs (in memory), staged in chunks where needed. */
export function stagedBuffers(buffersByGroup: Map<string, Uint8Array[]>, options: StagingOptions = {}): BlobSource {
  return {
    kind: 'custom',
    load: stagedLoader((group) => {
      const buffers = buffersByGroup.get(group);
      if (!buffers) throw new Error(`no bytes for group ${group} in this migration`);
      return buffers;
    }, options),
  };
}

/** A stored checkpoint's blob files, read from the coordinator's disk and uploaded in chunks. */
export function stagedCheckpointFiles(checkpoint: StoredCheckpoint, options: StagingOptions = {}): BlobSource {
  const byGroup = new Map(checkpoint.manifest.blobs.map((b) => [b.group, b]));
  const load = stagedLoader((group) => {
    const blob = byGroup.get(group);
    if (!blob) throw new Error(`checkpoint ${checkpoint.dir} has no blob for group ${group}`);
    const pieceBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
    // A chunked blob is the concatenation of its chunks; the kernel checks its sha256-8m or (format 3, with the
    // load spec's chunkBytes) sha256-chunks, which commits to every chunk.
    if (blob.chunks) return () => readChunkedBlob(checkpoint.chunksDir, blob, pieceBytes);
    return () => readChunks(checkpoint.blobPath(blob), blob.bytes, pieceBytes);
  }, options);
  return {
    kind: 'custom',
    // A blob file refused unread (FIFO, symlink, wrong size) fails that load, as the kernel's own
    // check does for files it opens: the restore falls back instead of stopping.
    load: async (recorder, spec, group, call) => {
      try {
        return await load(recorder, spec, group, call);
      } catch (error) {
        if (!(error instanceof UnsafeStoreEntryError)) throw error;
        return { ok: false, error: { kind: 'io', message: error.message }, seconds: 0 };
      }
    },
  };
}

/** A blob file's bytes in pieces; a FIFO, symlink or file of another size than `bytes` is refused unread. */
async function* readChunks(path: string, bytes: number, size: number): AsyncIterable<Uint8Array> {
  const file = await openRegularFile(path, bytes);
  try {
    for (;;) {
      const buffer = Buffer.allocUnsafe(size);
      const { bytesRead } = await file.read(buffer, 0, size);
      if (bytesRead === 0) return;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await file.close();
  }
}

/** Re-cuts pieces of any size into messages of at most `limit` bytes (slices, no copies). */
async function* rechunk(bytes: BlobBytes, limit: number): AsyncIterable<Uint8Array[]> {
  const source: AsyncIterable<Uint8Array> | Iterable<Uint8Array> = Array.isArray(bytes) ? bytes : bytes();
  let batch: Uint8Array[] = [];
  let batchBytes = 0;
  for await (const piece of source) {
    for (let at = 0; at < piece.byteLength; ) {
      const take = Math.min(limit - batchBytes, piece.byteLength - at);
      batch.push(piece.subarray(at, at + take));
      batchBytes += take;
      at += take;
      if (batchBytes === limit) {
        yield batch;
        batch = [];
        batchBytes = 0;
      }
    }
  }
  if (batchBytes > 0) yield batch;
}
