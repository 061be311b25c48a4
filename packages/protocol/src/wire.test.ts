import { describe, expect, it } from 'vitest';
import { createMessage, type JupyterMessage } from './message.js';
import { ProtocolError } from './errors.js';
import { WireCodec } from './wire.js';

const KEY = 'a0436f6c-1916-498b-8eb9-e81ab9368e84';

function fixedMessage(): JupyterMessage {
  return {
    header: {
      msg_id: 'm1',
      msg_type: 'execute_request',
      session: 's1',
      username: 'u',
      date: '2026-01-01T00:00:00.000Z',
      version: '5.3',
    },
    parent_header: {},
    metadata: {},
    content: { code: '1+1', silent: false },
    buffers: [],
  };
}

describe('WireCodec', () => {
  it('signs exactly as jupyter_client does (golden vector from jupyter_client.session.Session.sign)', () => {
    const frames = new WireCodec(KEY).encode(fixedMessage());
    expect(frames[0]!.toString()).toBe('<IDS|MSG>');
    expect(frames[1]!.toString()).toBe('5933a0b051714455a048ed3841592f9ec666828c28e9a1b0971bdca512ffb460');
  });

  it('round-trips identities, content and binary buffers', () => {
    const codec = new WireCodec(KEY);
    const buffer = new Uint8Array([0, 1, 2, 255]);
    const msg = createMessage('comm_msg', { comm_id: 'c', data: { n: 1 } }, { session: 's', buffers: [buffer] });
    msg.identities = [Buffer.from('peer')];
    const decoded = codec.decode(codec.encode(msg));
    expect(decoded.header).toEqual(msg.header);
    expect(decoded.content).toEqual(msg.content);
    expect(decoded.identities!.map((id) => Buffer.from(id).toString())).toEqual(['peer']);
    expect([...decoded.buffers[0]!]).toEqual([0, 1, 2, 255]);
  });

  it('rejects a forged signature, a tampered body and a foreign key with bad-signature', () => {
    const codec = new WireCodec(KEY);
    const frames = codec.encode(fixedMessage());
    const forged = [...frames];
    forged[1] = Buffer.from('0'.repeat(64));
    const tampered = [...frames];
    tampered[5] = Buffer.from('{"code":"import os; os.system(\'rm -rf /\')","silent":false}');
    const foreign = new WireCodec('other-key').encode(fixedMessage());
    for (const bad of [forged, tampered, foreign]) {
      expect(() => codec.decode(bad)).toThrow(ProtocolError);
      try {
        codec.decode(bad);
      } catch (error) {
        expect((error as ProtocolError).reason).toBe('bad-signature');
      }
    }
  });

  it('rejects malformed frames without throwing anything but ProtocolError', () => {
    const codec = new WireCodec('');
    const cases: Buffer[][] = [
      [],
      [Buffer.from('no delimiter')],
      [Buffer.from('<IDS|MSG>'), Buffer.from(''), Buffer.from('{}')],
      [Buffer.from('<IDS|MSG>'), Buffer.from(''), Buffer.from('{not json'), Buffer.from('{}'), Buffer.from('{}'), Buffer.from('{}')],
      [Buffer.from('<IDS|MSG>'), Buffer.from(''), Buffer.from('{}'), Buffer.from('{}'), Buffer.from('{}'), Buffer.from('{}')],
      [Buffer.from('<IDS|MSG>'), Buffer.from(''), Buffer.from('{"msg_id":"x","msg_type":"t"}'), Buffer.from('[]'), Buffer.from('{}'), Buffer.from('{}')],
    ];
    for (const frames of cases) {
      let thrown: unknown;
      try {
        codec.decode(frames);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(ProtocolError);
      expect((thrown as ProtocolError).reason).toBe('malformed');
    }
  });

  it('accepts unsigned messages when the key is empty', () => {
    const codec = new WireCodec('');
    const frames = codec.encode(fixedMessage());
    expect(frames[1]!.length).toBe(0);
    expect(codec.decode(frames).content).toEqual({ code: '1+1', silent: false });
  });
});
