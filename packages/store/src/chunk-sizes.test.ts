// Format 3 blob entries: chunks with listed sizes (cut by content), committed to by `sha256-chunks`;
// format 2 entries (fixed 8 MiB chunks, `sha256-8m`) stay valid, also inside a format 3 manifest.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { chunkSpans } from './chunks.js';
import { manifestProblem, type BlobEntry, type Manifest } from './manifest.js';

const MiB = 1024 * 1024;
const digest = (i: number) => createHash('sha256').update(String(i)).digest('hex');
const listSum = (algorithm: string, chunks: string[]) => `${algorithm}:${createHash('sha256').update(Buffer.concat(chunks.map((c) => Buffer.from(c, 'hex')))).digest('hex')}`;

function entry(sizes: number[] | undefined, bytes: number, count: number, algorithm = sizes ? 'sha256-chunks' : 'sha256-8m'): BlobEntry {
  const chunks = Array.from({ length: count }, (_, i) => digest(i));
  return { file: 'g.nbf', bytes, checksum: listSum(algorithm, chunks), group: 'g', variables: ['x'], chunks, ...(sizes ? { chunkBytes: sizes } : {}) };
}

function manifest(version: number, blob: BlobEntry): Manifest {
  return {
    format: 'nbferry-checkpoint',
    version,
    id: '20261203-094500-0a1b2c3d',
    createdAt: '2026-12-03T09:45:00.000Z',
    environment: { python: '3.11.7', platform: 'linux-x86_64', packages: {} },
    blobs: [blob],
    body: {},
  };
}

describe('chunk sizes (format 3)', () => {
  it('accepts listed sizes adding up to the blob under sha256-chunks, and spans follow them', () => {
    const blob = entry([1000, 8 * MiB, 5], 1005 + 8 * MiB, 3);
    expect(manifestProblem(manifest(3, blob), 3)).toBeUndefined();
    expect(chunkSpans(blob).map((s) => s.bytes)).toEqual([1000, 8 * MiB, 5]);
  });

  it('keeps fixed 8 MiB entries (sha256-8m) valid in format 2 and 3 manifests', () => {
    const blob = entry(undefined, 8 * MiB + 10, 2);
    expect(manifestProblem(manifest(2, blob), 2)).toBeUndefined();
    expect(manifestProblem(manifest(3, blob), 3)).toBeUndefined();
    expect(chunkSpans(blob).map((s) => s.bytes)).toEqual([8 * MiB, 10]);
  });

  it.each([
    ['sizes that do not add up', entry([1000, 6], 1005, 2), /do not add up/],
    ['a size above 8 MiB', entry([8 * MiB + 1, 4], 8 * MiB + 5, 2), /invalid chunk sizes/],
    ['a zero size', entry([0, 5], 5, 2), /invalid chunk sizes/],
    ['one size per chunk missing', entry([5], 5, 2), /invalid chunk sizes/],
    ['listed sizes under sha256-8m', entry([4, 4], 8, 2, 'sha256-8m'), /not sha256-chunks over its chunks/],
    ['sha256-chunks without sizes', entry(undefined, 8, 1, 'sha256-chunks'), /not sha256-8m over its chunks/],
  ])('refuses %s', (_, blob, problem) => {
    expect(manifestProblem(manifest(3, blob), 3)).toMatch(problem);
  });

  it('refuses listed sizes in a format 2 manifest', () => {
    expect(manifestProblem(manifest(2, entry([3, 4], 7, 2)), 2)).toMatch(/chunk sizes in a version 2 file/);
  });
});
