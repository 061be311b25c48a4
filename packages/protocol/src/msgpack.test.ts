import { describe, expect, it } from 'vitest';
import { ProtocolError } from './errors.js';
import { packMsgpack, unpackMsgpack } from './msgpack.js';

describe('msgpack codec', () => {
  it('decodes 64-bit integers to numbers when exact, to bigint beyond 2^53', () => {
    // int64 0xd3 and uint64 0xcf encodings, as a Python encoder that does not shrink widths emits.
    const int64 = Buffer.from([0xd3, 0, 0, 0, 0, 0, 0, 0x01, 0x00]);
    const uint64Big = Buffer.from([0xcf, 0x00, 0x40, 0, 0, 0, 0, 0, 0x01]);
    expect(unpackMsgpack(int64)).toBe(256);
    expect(unpackMsgpack(uint64Big)).toBe(2n ** 54n + 1n);
  });

  it('encodes plain maps that a non-msgpackr decoder can read (no record extension)', () => {
    const bytes = packMsgpack({ a: 1, b: [true, null, 'x'] });
    expect(bytes[0]! & 0xf0).toBe(0x80); // fixmap
    expect(unpackMsgpack(bytes)).toEqual({ a: 1, b: [true, null, 'x'] });
  });

  it('passes binary through as bytes', () => {
    const out = unpackMsgpack<{ blob: Uint8Array }>(packMsgpack({ blob: new Uint8Array([1, 2, 3]) }));
    expect([...out.blob]).toEqual([1, 2, 3]);
  });

  it('reports truncated input as a ProtocolError', () => {
    const bytes = packMsgpack({ text: 'a long enough string' });
    expect(() => unpackMsgpack(bytes.subarray(0, 5))).toThrow(ProtocolError);
  });
});
