/**
 * Content-addressed chunks: `<store>/chunks/<first 2 hex>/<sha256 hex>`, each the raw bytes of one
 * slice of a blob: consecutive 8 MiB slices in format 2, slices of the sizes the manifest lists
 * (`chunkBytes`) in format 3. The kernel writes them
 * (python-shim/src/nbferry_shim/cas.py); this side checks, reads and collects them.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { HASH_CHUNK_BYTES } from './checksum.js';
import { CorruptCheckpointError, UnsafeStoreEntryError } from './errors.js';
import type { BlobEntry } from './manifest.js';
import { openRegularFile } from './safe-open.js';

export const CHUNKS_DIR = 'chunks';
const HEX64 = /^[0-9a-f]{64}$/;

export function isChunkName(name: string): boolean {
  return HEX64.test(name);
}

export function chunkPath(chunksDir: string, digest: string): string {
  if (!isChunkName(digest)) throw new CorruptCheckpointError(chunksDir, `chunk name ${JSON.stringify(digest)} is not a SHA-256 digest`);
  return join(chunksDir, digest.slice(0, 2), digest);
}

/** Each chunk of a blob with its expected size, in order. */
export function chunkSpans(blob: BlobEntry): { digest: string; bytes: number }[] {
  const chunks = blob.chunks ?? [];
  const sizes = blob.chunkBytes;
  return chunks.map((digest, i) => ({ digest, bytes: sizes ? sizes[i]! : Math.min(HASH_CHUNK_BYTES, blob.bytes - i * HASH_CHUNK_BYTES) }));
}

/** Whether the chunk's SHA-256 is its name; throws (UnsafeStoreEntryError, ENOENT) unless it is a regular file of `bytes`. */
export async function verifyChunk(chunksDir: string, digest: string, bytes: number): Promise<boolean> {
  const handle = await openChunk(chunksDir, digest, bytes);
  const hash = createHash('sha256');
  for await (const piece of createReadStream('', { fd: handle, highWaterMark: 1024 * 1024 })) hash.update(piece as Buffer);
  return hash.digest('hex') === digest;
}

/** A chunked blob's bytes in order, read chunk by chunk (each refused unread if not a regular file of its size). */
export async function* readChunkedBlob(chunksDir: string, blob: BlobEntry, pieceBytes: number): AsyncIterable<Uint8Array> {
  for (const { digest, bytes } of chunkSpans(blob)) {
    const handle = await openChunk(chunksDir, digest, bytes);
    try {
      for await (const piece of createReadStream('', { fd: handle, highWaterMark: pieceBytes, autoClose: false })) yield piece as Buffer;
    } finally {
      await handle.close();
    }
  }
}

/** Opens a chunk file; neither `chunks/` nor `chunks/<aa>/` may be a symlink (O_NOFOLLOW guards only the file). */
async function openChunk(chunksDir: string, digest: string, bytes: number) {
  const path = chunkPath(chunksDir, digest);
  for (const dir of [chunksDir, dirname(path)]) {
    const info = await lstat(dir);
    if (!info.isDirectory()) throw new UnsafeStoreEntryError(dir, info.isSymbolicLink() ? 'it is a symbolic link; a store never follows links out of itself' : 'it is not a directory');
  }
  return openRegularFile(path, bytes);
}
