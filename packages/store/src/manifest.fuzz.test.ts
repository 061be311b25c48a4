// Fuzzing the manifest reader: random and mutated inputs never crash it with an untyped error and
// never hang it. NBFERRY_FUZZ_RUNS sets the runs per property (300 by default, for CI).
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { packMsgpack } from '@nbferry/protocol';
import { CorruptCheckpointError, UnsupportedCheckpointVersionError } from './errors.js';
import { decodeManifest, encodeManifest, manifestProblem, type Manifest } from './manifest.js';

const RUNS = Number(process.env.NBFERRY_FUZZ_RUNS ?? 300);

const valid: Manifest = {
  format: 'nbferry-checkpoint',
  version: 1,
  id: '20261203-094500-0a1b2c3d',
  createdAt: '2026-12-03T09:45:00.000Z',
  environment: { python: '3.11.7', platform: 'linux-x86_64', packages: { numpy: '2.4.6' } },
  blobs: [
    { file: 'group-0000-aabbccddeeff.nbf', bytes: 1234, checksum: `sha256-8m:${'ab'.repeat(32)}`, group: 'g1', variables: ['x', 'y'] },
    { file: 'group-0001-112233445566.nbf', bytes: 0, checksum: `crc32-8m:${'cd'.repeat(32)}`, group: 'g2', variables: [] },
  ],
  body: { history: { executions: [{ seq: 1, code: 'x = 1' }] }, cwd: '/tmp' },
};
const validBytes = encodeManifest(valid);

/** What decoding may do: return a manifest whose fields check out, or throw one of the typed errors. */
function decodesSafely(bytes: Buffer): void {
  let manifest: Manifest;
  try {
    manifest = decodeManifest(bytes, 'fuzz');
  } catch (error) {
    if (error instanceof CorruptCheckpointError || error instanceof UnsupportedCheckpointVersionError) return;
    throw error;
  }
  expect(manifestProblem(manifest, manifest.version)).toBeUndefined();
}

/** A manifest file around `body` bytes with a correct digest: only the content is hostile. */
function withValidDigest(body: Uint8Array, version = 1): Buffer {
  const header = Buffer.alloc(12);
  Buffer.from('NBFERRY\0', 'latin1').copy(header);
  header.writeUInt32BE(version, 8);
  const signed = Buffer.concat([header, body]);
  return Buffer.concat([signed, createHash('sha256').update(signed).digest()]);
}

const jsonish: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { maxDepth: 4 },
    fc.constantFrom(null, true, false, 0, -1, 2 ** 53, Number.NaN, '', '..', '/etc/passwd', 'sha256-8m:00'),
    fc.string(),
    fc.double(),
    fc.integer(),
    fc.uint8Array({ maxLength: 16 }),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 8 }), tie('value'), { maxKeys: 4 }),
  ),
})).value;

/** A path into `valid` and a replacement: a field deleted, retyped, or given a hostile value. */
const fieldMutation = fc.record({
  path: fc.constantFrom(
    ['format'], ['version'], ['id'], ['createdAt'], ['environment'], ['environment', 'python'], ['environment', 'packages'],
    ['environment', 'packages', 'numpy'], ['blobs'], ['blobs', 0], ['blobs', 0, 'file'], ['blobs', 0, 'bytes'],
    ['blobs', 0, 'checksum'], ['blobs', 1, 'group'], ['blobs', 1, 'variables'], ['body'],
  ),
  value: fc.option(jsonish, { nil: undefined }),
});

/** `base` with the value at `path` replaced (or deleted); a path through a non-object is left as is. */
function mutate(base: unknown, path: readonly (string | number)[], value: unknown): unknown {
  const copy = structuredClone(base) as Record<string | number, unknown>;
  let at: Record<string | number, unknown> = copy;
  for (const key of path.slice(0, -1)) {
    const next = at[key];
    if (typeof next !== 'object' || next === null || ArrayBuffer.isView(next)) return copy;
    at = next as Record<string | number, unknown>;
  }
  const last = path.at(-1)!;
  if (ArrayBuffer.isView(at)) return copy;
  if (value === undefined) delete at[last];
  else at[last] = value;
  return copy;
}

describe('manifest reader under fuzzing', () => {
  it('decodes the valid manifest', () => {
    expect(decodeManifest(validBytes, 'fuzz')).toEqual(valid);
  });

  it('random bytes (with and without the magic) give a typed error', () => {
    const magic = Buffer.from('NBFERRY\0\0\0\0\x01', 'latin1');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), fc.boolean(), (bytes, prefixed) => {
        decodesSafely(prefixed ? Buffer.concat([magic, bytes]) : Buffer.from(bytes));
      }),
      { numRuns: RUNS },
    );
  });

  it('byte flips, truncations and insertions in a valid manifest give a typed error', () => {
    const edit = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), mask: fc.integer({ min: 1, max: 255 }) }),
      fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
    );
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 4 }), (edits) => {
        let bytes = Buffer.from(validBytes);
        for (const e of edits) {
          const at = e.at % (bytes.length + 1);
          if (e.kind === 'flip' && at < bytes.length) bytes[at] ^= e.mask;
          else if (e.kind === 'cut') bytes = bytes.subarray(0, at);
          else if (e.kind === 'insert') bytes = Buffer.concat([bytes.subarray(0, at), e.bytes, bytes.subarray(at)]);
        }
        decodesSafely(bytes);
      }),
      { numRuns: RUNS },
    );
  });

  it('hostile content behind a valid digest (random msgpack, mutated fields) gives a typed error', () => {
    fc.assert(
      fc.property(jsonish, fc.constantFrom(1, 1, 1, 0, 2, 0xffffffff), (value, version) => {
        decodesSafely(withValidDigest(packMsgpack(value), version));
      }),
      { numRuns: RUNS },
    );
    fc.assert(
      fc.property(fc.array(fieldMutation, { minLength: 1, maxLength: 3 }), (mutations) => {
        let value: unknown = valid;
        for (const m of mutations) {
          value = mutate(value, m.path, m.value);
        }
        decodesSafely(withValidDigest(packMsgpack(value)));
      }),
      { numRuns: RUNS },
    );
    // Random msgpack bytes (not necessarily well formed) behind a valid digest.
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => decodesSafely(withValidDigest(bytes))),
      { numRuns: RUNS },
    );
  });
});
