/**
 * Fuzzing the wire codec with random and mutated frames: decoding never throws anything but a
 * ProtocolError, never returns a partial message, and a signed message survives no mutation of a
 * signed frame. A few hundred runs per property by default; NBFERRY_FUZZ_RUNS=N for longer.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError, UnsupportedSignatureSchemeError } from './errors.js';
import { createMessage, type JsonObject, type JupyterMessage } from './message.js';
import { WireCodec, type SignatureScheme } from './wire.js';

const RUNS = Number(process.env.NBFERRY_FUZZ_RUNS ?? 300);
const KEY = 'b2f5c3a1-fuzz-key';

/** Decodes and returns the message, or 'rejected' when the codec threw a ProtocolError. */
function decodeOrRejected(codec: WireCodec, frames: Uint8Array[]): JupyterMessage | 'rejected' {
  try {
    return codec.decode(frames);
  } catch (error) {
    if (error instanceof ProtocolError) return 'rejected';
    throw error;
  }
}

function expectWellFormed(msg: JupyterMessage): void {
  expect(typeof msg.header.msg_type).toBe('string');
  expect(typeof msg.header.msg_id).toBe('string');
  for (const part of [msg.parent_header, msg.metadata, msg.content]) {
    expect(part !== null && typeof part === 'object' && !Array.isArray(part)).toBe(true);
  }
  expect(msg.buffers.every((b) => b instanceof Uint8Array)).toBe(true);
}

const jsonObject = fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 });
const arbMessage = fc
  .record({
    msgType: fc.string({ minLength: 1, maxLength: 20 }),
    content: jsonObject,
    metadata: jsonObject,
    buffers: fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 3 }),
    identities: fc.array(fc.uint8Array({ minLength: 1, maxLength: 16 }), { maxLength: 2 }),
  })
  .map(({ msgType, content, metadata, buffers, identities }) => {
    const msg = createMessage(msgType, content, { session: 'fuzz', buffers, metadata: metadata as JsonObject });
    // An identity equal to the delimiter would be the delimiter; ZeroMQ routing ids never are.
    msg.identities = identities.filter((id) => Buffer.from(id).toString() !== '<IDS|MSG>').map((id) => Buffer.from(id));
    return msg;
  });

type Mutation =
  | { kind: 'flip'; frame: number; at: number; xor: number }
  | { kind: 'truncate'; frame: number; length: number }
  | { kind: 'drop'; frame: number }
  | { kind: 'insert'; frame: number; bytes: Uint8Array }
  | { kind: 'replace'; frame: number; bytes: Uint8Array };

const arbMutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), frame: fc.nat(), at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), frame: fc.nat(), length: fc.nat() }),
  fc.record({ kind: fc.constant('drop' as const), frame: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), frame: fc.nat(), bytes: fc.uint8Array({ maxLength: 32 }) }),
  fc.record({
    kind: fc.constant('replace' as const),
    frame: fc.nat(),
    bytes: fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v) ?? 'null')),
      fc.constantFrom(Buffer.from('<IDS|MSG>'), Buffer.from('{}'), Buffer.from('[]'), Buffer.from('null')),
    ),
  }),
);

function mutate(frames: Buffer[], mutation: Mutation): Buffer[] {
  const out = frames.map((f) => Buffer.from(f));
  if (out.length === 0) return out;
  const i = mutation.frame % out.length;
  switch (mutation.kind) {
    case 'flip':
      if (out[i]!.length > 0) out[i]![mutation.at % out[i]!.length]! ^= mutation.xor;
      break;
    case 'truncate':
      out[i] = out[i]!.subarray(0, mutation.length % (out[i]!.length + 1));
      break;
    case 'drop':
      out.splice(i, 1);
      break;
    case 'insert':
      out.splice(i, 0, Buffer.from(mutation.bytes));
      break;
    case 'replace':
      out[i] = Buffer.from(mutation.bytes);
      break;
  }
  return out;
}

describe('WireCodec fuzzing', () => {
  it('random frames decode to a well-formed message or a ProtocolError, signed or not', () => {
    const frames = fc.array(
      fc.oneof(fc.uint8Array({ maxLength: 48 }), fc.constant(Buffer.from('<IDS|MSG>')), fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v) ?? 'null'))),
      { maxLength: 10 },
    );
    fc.assert(
      fc.property(frames, fc.constantFrom('', KEY), (input, key) => {
        const result = decodeOrRejected(new WireCodec(key), input);
        if (result !== 'rejected') expectWellFormed(result);
      }),
      { numRuns: RUNS },
    );
  });

  it('round-trips any message, with every signature scheme', () => {
    const schemes: SignatureScheme[] = ['hmac-sha256', 'hmac-sha512', 'hmac-sha1'];
    fc.assert(
      fc.property(arbMessage, fc.constantFrom(...schemes), (msg, scheme) => {
        const codec = new WireCodec(KEY, scheme);
        const decoded = codec.decode(codec.encode(msg));
        expect(decoded.header).toEqual(msg.header);
        expect(decoded.content).toEqual(JSON.parse(JSON.stringify(msg.content)));
        expect(decoded.metadata).toEqual(JSON.parse(JSON.stringify(msg.metadata)));
        expect(decoded.buffers.map((b) => [...b])).toEqual(msg.buffers.map((b) => [...b]));
      }),
      { numRuns: RUNS },
    );
  });

  it('a mutated signed message is rejected, or decodes to the original message', () => {
    fc.assert(
      fc.property(arbMessage, fc.array(arbMutation, { minLength: 1, maxLength: 3 }), (msg, mutations) => {
        const codec = new WireCodec(KEY);
        const frames = mutations.reduce((acc, m) => mutate(acc, m), codec.encode(msg));
        const result = decodeOrRejected(codec, frames);
        if (result === 'rejected') return;
        expectWellFormed(result);
        // The four JSON frames are signed: whatever got through says exactly what was sent.
        // (Identities and raw buffers are not signed in the Jupyter protocol.)
        expect(result.header).toEqual(msg.header);
        expect(result.content).toEqual(JSON.parse(JSON.stringify(msg.content)));
      }),
      { numRuns: RUNS },
    );
  });

  it('a mutated unsigned message decodes to a well-formed message or a ProtocolError', () => {
    fc.assert(
      fc.property(arbMessage, fc.array(arbMutation, { minLength: 1, maxLength: 3 }), (msg, mutations) => {
        const codec = new WireCodec('');
        const result = decodeOrRejected(codec, mutations.reduce((acc, m) => mutate(acc, m), codec.encode(msg)));
        if (result !== 'rejected') expectWellFormed(result);
      }),
      { numRuns: RUNS },
    );
  });

  it('refuses an unknown signature scheme when built, with a typed error', () => {
    fc.assert(
      fc.property(
        fc.string().filter((s) => !['hmac-sha256', 'hmac-sha512', 'hmac-sha1'].includes(s)),
        (scheme) => {
          expect(() => new WireCodec(KEY, scheme as SignatureScheme)).toThrow(UnsupportedSignatureSchemeError);
        },
      ),
      { numRuns: Math.min(RUNS, 100) },
    );
  });
});
