/**
 * Blob checksums, written as `<algorithm>:<hex>`.
 *
 * - `sha256`: SHA-256 of the whole blob.
 * - `crc32-8m`: CRC-32 of each consecutive 8 MiB chunk, then SHA-256 over those CRCs (big-endian
 *   u32s). It catches corruption as well as a digest does for storage faults, yet the kernel can
 *   compute it at memory speed and overlap it with the disk I/O, where SHA-256 would halve the
 *   checkpoint's throughput. Neither is a signature: whoever can rewrite blobs can rewrite sums.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

export const CRC_CHUNK_BYTES = 8 * 1024 * 1024;

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

/** Computes the checksum of a file with the algorithm named in `expected`'s prefix. */
export async function fileChecksum(path: string, algorithm: string): Promise<string> {
  if (algorithm === 'sha256') {
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
    return `sha256:${hash.digest('hex')}`;
  }
  if (algorithm === 'crc32-8m') {
    const sums = createHash('sha256');
    let crc = 0;
    let inChunk = 0;
    const flush = () => {
      const word = Buffer.alloc(4);
      word.writeUInt32BE(crc);
      sums.update(word);
      crc = 0;
      inChunk = 0;
    };
    for await (const piece of createReadStream(path, { highWaterMark: 1024 * 1024 })) {
      let data = piece as Buffer;
      while (data.length > 0) {
        const take = Math.min(data.length, CRC_CHUNK_BYTES - inChunk);
        crc = crc32(data.subarray(0, take), crc);
        inChunk += take;
        data = data.subarray(take);
        if (inChunk === CRC_CHUNK_BYTES) flush();
      }
    }
    if (inChunk > 0) flush();
    return `crc32-8m:${sums.digest('hex')}`;
  }
  throw new Error(`unknown checksum algorithm "${algorithm}"`);
}

export function checksumAlgorithm(checksum: string): string {
  return checksum.slice(0, Math.max(0, checksum.indexOf(':')));
}
