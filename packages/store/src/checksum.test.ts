import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CRC_CHUNK_BYTES, crc32, fileChecksum } from './checksum.js';

describe('checksums', () => {
  it('computes the standard CRC-32 check value', () => {
    expect(crc32(Buffer.from('123456789')).toString(16)).toBe('cbf43926');
    // Incremental use: feeding in two parts gives the same CRC.
    expect(crc32(Buffer.from('6789'), crc32(Buffer.from('12345')))).toBe(0xcbf43926);
  });

  it('hashes per-8-MiB-chunk CRCs for crc32-8m, chunk digests for sha256-8m, and whole files for sha256', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nbf-sum-'));
    try {
      const data = Buffer.alloc(CRC_CHUNK_BYTES * 2 + 123);
      for (let i = 0; i < data.length; i += 4096) data[i] = i % 251;
      const path = join(dir, 'blob');
      await writeFile(path, data);
      const words = Buffer.alloc(12);
      [0, 1, 2].forEach((k) => words.writeUInt32BE(crc32(data.subarray(k * CRC_CHUNK_BYTES, (k + 1) * CRC_CHUNK_BYTES)), k * 4));
      expect(await fileChecksum(path, 'crc32-8m')).toBe(`crc32-8m:${createHash('sha256').update(words).digest('hex')}`);
      expect(await fileChecksum(path, 'sha256')).toBe(`sha256:${createHash('sha256').update(data).digest('hex')}`);
      const digests = [0, 1, 2].map((k) => createHash('sha256').update(data.subarray(k * CRC_CHUNK_BYTES, (k + 1) * CRC_CHUNK_BYTES)).digest());
      expect(await fileChecksum(path, 'sha256-8m')).toBe(`sha256-8m:${createHash('sha256').update(Buffer.concat(digests)).digest('hex')}`);
      await expect(fileChecksum(path, 'sha256-8m', data.length + 1)).rejects.toThrow(/the manifest says/);
      await expect(fileChecksum(path, 'md4')).rejects.toThrow(/unknown checksum/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
