/**
 * Fuzzing the msgpack codec with random and mutated payloads: decoding returns a value or throws a
 * ProtocolError, nothing else, and never hangs. NBFERRY_FUZZ_RUNS=N for a longer run.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from './errors.js';
import { packMsgpack, unpackMsgpack } from './msgpack.js';

const RUNS = Number(process.env.NBFERRY_FUZZ_RUNS ?? 300);

function unpackOrRejected(bytes: Uint8Array): { value: unknown } | 'rejected' {
  try {
    return { value: unpackMsgpack(bytes) };
  } catch (error) {
    if (error instanceof ProtocolError) return 'rejected';
    throw error;
  }
}

/** What the shim sends: maps with string keys, arrays, scalars, bytes. */
const payload = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double({ noNaN: true }),
    fc.string(),
    fc.uint8Array({ maxLength: 32 }),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(fc.string({ maxLength: 8 }), tie('value'), { maxKeys: 5 }),
  ),
})).value;

/** Type tags msgpack uses, so mutations hit headers with lengths and extension types often. */
const interestingBytes = fc.constantFrom(0xc1, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xdc, 0xdd, 0xde, 0xdf, 0xff, 0x00, 0x7f);

/** Bytes as arrays (Buffer and Uint8Array compare equal) and -0 as 0 (msgpack may write it as int 0). */
function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return { bytes: [...value] };
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return Object.is(value, -0) ? 0 : value;
}

describe('msgpack fuzzing', () => {
  it('random bytes decode to a value or a ProtocolError', () => {
    const bytes = fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.array(interestingBytes, { maxLength: 16 }).map((a) => Uint8Array.from(a)));
    fc.assert(
      fc.property(bytes, (input) => {
        unpackOrRejected(input);
      }),
      { numRuns: RUNS },
    );
  });

  it('round-trips what the shim sends', () => {
    fc.assert(
      fc.property(payload, (value) => {
        expect(plain(unpackMsgpack(packMsgpack(value)))).toEqual(plain(value));
      }),
      { numRuns: RUNS },
    );
  });

  it('mutated payloads (flipped, overwritten, cut, extended) decode to a value or a ProtocolError', () => {
    const edit = fc.record({ at: fc.nat(), byte: fc.oneof(fc.integer({ min: 0, max: 255 }), interestingBytes), kind: fc.constantFrom('set', 'cut', 'insert') });
    fc.assert(
      fc.property(payload, fc.array(edit, { minLength: 1, maxLength: 4 }), (value, edits) => {
        let bytes = Buffer.from(packMsgpack(value));
        for (const { at, byte, kind } of edits) {
          const i = bytes.length === 0 ? 0 : at % bytes.length;
          if (kind === 'set' && bytes.length > 0) bytes[i] = byte;
          else if (kind === 'cut') bytes = bytes.subarray(0, i);
          else bytes = Buffer.concat([bytes.subarray(0, i), Buffer.from([byte]), bytes.subarray(i)]);
        }
        unpackOrRejected(bytes);
      }),
      { numRuns: RUNS },
    );
  });

  it('a length header claiming gigabytes is rejected at once, not waited for', () => {
    // bin32, str32, array32 and map32 headers announcing 4 GiB - 1 with a few bytes behind them.
    for (const tag of [0xc6, 0xdb, 0xdd, 0xdf]) {
      expect(unpackOrRejected(Buffer.from([tag, 0xff, 0xff, 0xff, 0xff, 1, 2, 3]))).toBe('rejected');
    }
  });
});
