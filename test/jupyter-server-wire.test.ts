/** The websocket framing nbferry gives services: exact bytes for sliced Buffers, Buffers back. */
import { ServerConnection, type KernelMessage } from '@jupyterlab/services';
import { expect, test } from 'vitest';
import { V1_PROTOCOL, encodedSize, exactSerializer, type WireSerializer } from '@nbferry/jupyter-server';

function message(buffers: Uint8Array[]): KernelMessage.IMessage {
  return {
    channel: 'shell',
    header: { msg_id: 'm1', msg_type: 'comm_msg', session: 's', username: 'u', date: '2026-01-01T00:00:00Z', version: '5.4' },
    parent_header: {},
    metadata: { note: 'é' },
    content: { comm_id: 'c', data: { op: 'stage_chunk' } },
    buffers,
  } as unknown as KernelMessage.IMessage;
}

test('sliced buffers travel as their own bytes, and come back as Buffers without copies', () => {
  const pool = Buffer.from('0123456789abcdefghij');
  const slices = [pool.subarray(3, 7), pool.subarray(10, 20), new Uint8Array(0)];
  const msg = message(slices);
  const serializer = exactSerializer();
  const wire = serializer.serialize(msg, V1_PROTOCOL) as ArrayBuffer;
  expect(wire.byteLength).toBe(encodedSize(msg));
  const back = serializer.deserialize(wire, V1_PROTOCOL);
  expect(back.header).toEqual(msg.header);
  expect(back.metadata).toEqual({ note: 'é' });
  expect(back.channel).toBe('shell');
  expect(back.buffers!.map((b) => Buffer.isBuffer(b))).toEqual([true, true, true]);
  expect(back.buffers!.map((b) => Buffer.from(b as Buffer).toString())).toEqual(['3456', 'abcdefghij', '']);
  expect((back.buffers![0] as Buffer).buffer).toBe(wire);
});

test("services' own serializer reads past a sliced Buffer's bounds (why nbferry brings its own)", () => {
  const pool = Buffer.from('0123456789');
  const stock = ServerConnection.makeSettings().serializer;
  const ours = exactSerializer();
  const bytesOf = (serializer: WireSerializer) => {
    const back = ours.deserialize(serializer.serialize(message([pool.subarray(2, 4)]), V1_PROTOCOL) as ArrayBuffer, V1_PROTOCOL);
    return Buffer.from(back.buffers![0] as Buffer).toString();
  };
  expect(bytesOf(ours)).toBe('23');
  let stockResult: string;
  try {
    stockResult = bytesOf(stock); // wrong bytes, or a RangeError when the pool is larger than the message
  } catch (error) {
    stockResult = (error as Error).name;
  }
  expect(stockResult).not.toBe('23');
});
