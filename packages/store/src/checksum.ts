/**
 * Blob checksums, written as `<algorithm>:<hex>`.
 *
 * - `sha256`: SHA-256 of the whole blob.
 * - `sha256-8m` (blob files, format 2 chunks): SHA-256 of each consecutive 8 MiB chunk, then SHA-256 over
 *   those 32-byte digests. As collision resistant as SHA-256 (a hash list of SHA-256), yet its
 *   chunks hash in parallel worker threads beside the kernel's writes and reads, so a signed
 *   manifest can commit to every byte without a second pass. The per-chunk digests are also what a
 *   content-addressed store names its chunks by.
 * - `sha256-chunks` (format 3, what the shim writes into a content-addressed store): the same hash
 *   list as `sha256-8m`, over the chunks a manifest lists with their sizes (`chunkBytes`; cut where
 *   the content puts boundaries, python-shim/src/nbferry_shim/cutpoints.py). Only for chunked blobs.
 * - `crc32-8m` (legacy, read only): CRC-32 of each 8 MiB chunk, then SHA-256 over those CRCs
 *   (big-endian u32s). It catches storage faults but CRC is linear: anyone can forge a blob with the
 *   same sum, so a key-verified restore refuses it (see CRYPTOGRAPHIC_CHECKSUMS).
 *
 * None is a signature by itself: whoever can rewrite blobs and the manifest can rewrite sums; the
 * manifest's signature (signing.ts) is what makes them trustworthy.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { openRegularFile } from './safe-open.js';

export const CRC_CHUNK_BYTES = 8 * 1024 * 1024;
/** Chunk size of `sha256-8m` (the same 8 MiB). */
export const HASH_CHUNK_BYTES = CRC_CHUNK_BYTES;
/** Checksums a signed manifest may commit to: forging a blob with the same sum is infeasible. */
export const CRYPTOGRAPHIC_CHECKSUMS: readonly string[] = ['sha256', 'sha256-8m', 'sha256-chunks'];
export const CHECKSUM_ALGORITHMS: readonly string[] = ['sha256', 'sha256-8m', 'sha256-chunks', 'crc32-8m'];

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32(bytes: Uint8Array, seed = 0): number {
  let crc = ~seed >>> 0;
  for (let i = 0; i < bytes.length; i++) crc = CRC_TABLE[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}

/**
 * Computes the checksum of a regular file with `algorithm`. The file is opened without following a
 * symlink and without blocking (a FIFO or device is refused before any read), and refused when it
 * is not `expectedBytes` long (a sparse 100 GB file is never read).
 */
export async function fileChecksum(path: string, algorithm: string, expectedBytes?: number): Promise<string> {
  if (!CHECKSUM_ALGORITHMS.includes(algorithm)) throw new Error(`unknown checksum algorithm "${algorithm}"`);
  if (algorithm === 'sha256-chunks') throw new Error('a sha256-chunks checksum belongs to a chunked blob (its manifest lists the chunk sizes), not to a blob file');
  const handle = await openRegularFile(path, expectedBytes);
  const stream = createReadStream('', { fd: handle, highWaterMark: 1024 * 1024 });
  if (algorithm === 'sha256') {
    const hash = createHash('sha256');
    for await (const chunk of stream) hash.update(chunk as Buffer);
    return `sha256:${hash.digest('hex')}`;
  }
  return chunkedChecksum(stream, algorithm as 'sha256-8m' | 'crc32-8m');
}

/** `sha256-8m` or `crc32-8m` of a stream: a per-8-MiB-chunk sum, then SHA-256 over the sums. */
async function chunkedChecksum(stream: AsyncIterable<unknown>, algorithm: 'sha256-8m' | 'crc32-8m'): Promise<string> {
  const sums = createHash('sha256');
  let crc = 0;
  let chunkHash = createHash('sha256');
  let inChunk = 0;
  const flush = () => {
    if (algorithm === 'crc32-8m') {
      const word = Buffer.alloc(4);
      word.writeUInt32BE(crc);
      sums.update(word);
      crc = 0;
    } else {
      sums.update(chunkHash.digest());
      chunkHash = createHash('sha256');
    }
    inChunk = 0;
  };
  for await (const piece of stream) {
    let data = piece as Buffer;
    while (data.length > 0) {
      const take = Math.min(data.length, CRC_CHUNK_BYTES - inChunk);
      if (algorithm === 'crc32-8m') crc = crc32(data.subarray(0, take), crc);
      else chunkHash.update(data.subarray(0, take));
      inChunk += take;
      data = data.subarray(take);
      if (inChunk === CRC_CHUNK_BYTES) flush();
    }
  }
  if (inChunk > 0) flush();
  return `${algorithm}:${sums.digest('hex')}`;
}

export function checksumAlgorithm(checksum: string): string {
  return checksum.slice(0, Math.max(0, checksum.indexOf(':')));
}
