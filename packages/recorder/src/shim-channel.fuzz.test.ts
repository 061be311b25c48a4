/**
 * Fuzzing what the shim's comm delivers to ShimChannel: any envelope and buffers must neither
 * throw (a throwing comm listener would crash the coordinator from a microtask) nor settle a
 * pending request with anything but a reply or a typed error. NBFERRY_FUZZ_RUNS=N for longer.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Comm, type CommMessage, type CommSender } from '@nbferry/kernel';
import { NbferryError, packMsgpack, type JsonObject } from '@nbferry/protocol';
import { ShimChannel } from './shim-channel.js';

const RUNS = Number(process.env.NBFERRY_FUZZ_RUNS ?? 300);

/** A comm whose sends succeed at once (the kernel "handled" them) and go nowhere. */
function fakeComm(): Comm {
  const sender: CommSender = { sendCommMessage: () => Promise.resolve(), forgetComm: () => {} };
  return new Comm('fuzz', 'nbferry', sender);
}

const jsonish = fc.jsonValue({ maxDepth: 3 });
const envelope = fc.oneof(
  fc.dictionary(fc.constantFrom('op', 'id', 'ok', 'error', 'seq', 'toString', 'valueOf'), jsonish, { maxKeys: 5 }),
  fc.record({
    op: fc.constant('reply'),
    id: fc.constantFrom(1, 2, 0, -1, 1.5),
    ok: fc.boolean(),
    error: fc.oneof(fc.string(), jsonish, fc.constant({ toString: 1 }), fc.constant({ valueOf: null, toString: null })),
  }),
);
const buffer = fc.oneof(
  fc.uint8Array({ maxLength: 32 }),
  fc.anything({ maxDepth: 2, withBigInt: true }).map((v) => {
    try {
      return packMsgpack(v);
    } catch {
      return new Uint8Array([0xc1]);
    }
  }),
);

function receive(channel: ShimChannel, message: CommMessage): void {
  (channel as unknown as { receive(message: CommMessage): void }).receive(message);
}

describe('ShimChannel fuzzing', () => {
  it('random messages never throw, and pending requests settle only with a reply or a typed error', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.record({ data: envelope, buffers: fc.array(buffer, { maxLength: 3 }) }), { maxLength: 6 }), async (messages) => {
        const comm = fakeComm();
        const pushes: unknown[] = [];
        const channel = new ShimChannel(comm, (op, _data, payload) => pushes.push([op, payload]));
        const pending = channel.request('history', {}, { timeoutMs: 5_000 });
        const outcome = pending.then(
          (reply) => ({ reply }),
          (error: unknown) => ({ error }),
        );
        for (const message of messages) {
          // Straight to the listener: the comm's emitter would only defer a throw to a microtask.
          expect(() => receive(channel, { data: message.data as JsonObject, buffers: message.buffers, parentMsgId: undefined })).not.toThrow();
        }
        comm.markClosed(); // settles whatever is still pending
        const settled = await outcome;
        if ('error' in settled) expect(settled.error).toBeInstanceOf(NbferryError);
        else expect(settled.reply).toHaveProperty('buffers');
      }),
      { numRuns: RUNS },
    );
  });
});
