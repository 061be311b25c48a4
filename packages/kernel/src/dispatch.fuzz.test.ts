/**
 * Fuzzing KernelClient's dispatch with messages that decoded (valid frames, any content): whatever
 * a kernel, or anyone who can write to an unsigned connection, sends never throws out of the
 * receive loop, and a pending request settles only with its reply or a typed error.
 * NBFERRY_FUZZ_RUNS=N for a longer run.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NbferryError, type Channel, type JupyterMessage } from '@nbferry/protocol';
import { KernelClient } from './kernel-client.js';
import type { KernelTransport, MessageHandler } from './transport.js';

const RUNS = Number(process.env.NBFERRY_FUZZ_RUNS ?? 300);

class FakeTransport implements KernelTransport {
  readonly sessionId = 'fuzz-session';
  readonly stats = { received: 0, badSignature: 0, malformed: 0 };
  handler: MessageHandler = () => {};
  sent: JupyterMessage<unknown>[] = [];
  setHandler(handler: MessageHandler): void {
    this.handler = handler;
  }
  send(_channel: Exclude<Channel, 'iopub'>, msg: JupyterMessage<unknown>): Promise<void> {
    this.sent.push(msg);
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const MSG_TYPES = ['status', 'execute_reply', 'execute_result', 'stream', 'display_data', 'update_display_data', 'error', 'comm_open', 'comm_msg', 'comm_close', 'input_request', 'kernel_info_reply', 'iopub_welcome', 'clear_output', 'x-unknown'];
const value = fc.jsonValue({ maxDepth: 2 });
const content = fc.oneof(
  fc.record({ comm_id: fc.string({ maxLength: 4 }), target_name: fc.constant('nbferry'), data: fc.dictionary(fc.string(), value, { maxKeys: 2 }) }),
  fc.record({ name: fc.constantFrom('stdout', 'stderr', 7), text: fc.oneof(fc.string(), value) }),
  fc.record({ status: fc.constantFrom('ok', 'error', 'aborted', 'x'), execution_count: value, ename: value, evalue: value, traceback: value, user_expressions: value }),
  fc.record({ data: fc.dictionary(fc.constantFrom('text/plain', 'image/png'), value), metadata: value, transient: value }),
  fc.dictionary(fc.constantFrom('execution_state', 'comm_id', 'data', 'target_name', 'name', 'text', 'status', 'execution_count', 'prompt', 'password', 'ename', 'evalue', 'traceback', 'metadata', 'wait', 'transient', 'toString'), value, { maxKeys: 6 }),
  fc.dictionary(fc.string(), value, { maxKeys: 3 }),
);

describe('KernelClient dispatch fuzzing', () => {
  it('any decoded message on any channel never throws; the pending request settles typed or with its reply', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            channel: fc.constantFrom<Channel>('shell', 'iopub', 'stdin', 'control'),
            msgType: fc.constantFrom(...MSG_TYPES),
            content,
            toRequest: fc.boolean(),
            parent: fc.oneof(fc.constant({}), fc.dictionary(fc.constantFrom('msg_id', 'msg_type', 'session'), value, { maxKeys: 3 })),
            buffers: fc.array(fc.uint8Array({ maxLength: 8 }), { maxLength: 2 }),
          }),
          { maxLength: 8 },
        ),
        async (messages) => {
          const transport = new FakeTransport();
          const client = new KernelClient(transport);
          client.registerCommTarget('nbferry', () => {
            throw new Error('a broken comm target');
          });
          const outcome = client.execute('1', { timeoutMs: 5_000 }).then(
            (result) => ({ result }),
            (error: unknown) => ({ error }),
          );
          await Promise.resolve();
          const requestId = transport.sent[0]!.header.msg_id;
          for (const m of messages) {
            const msg: JupyterMessage = {
              header: { msg_id: `k-${Math.random()}`, msg_type: m.msgType, session: 'k', username: 'k', date: '', version: '5.3' },
              parent_header: (m.toRequest ? { msg_id: requestId } : m.parent) as JupyterMessage['parent_header'],
              metadata: {},
              content: m.content as JupyterMessage['content'],
              buffers: m.buffers,
            };
            expect(() => transport.handler(m.channel, msg)).not.toThrow();
          }
          await client.close();
          const settled = await outcome;
          if ('error' in settled) expect(settled.error).toBeInstanceOf(NbferryError);
        },
      ),
      { numRuns: RUNS },
    );
  });
});
