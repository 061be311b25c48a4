/**
 * The kernel websocket's binary framing (`v1.kernel.websocket.jupyter.org`), as a services
 * serializer that is exact about buffers in both directions:
 *
 * - services' own serializer copies `view.buffer` whole, so a Buffer that is a slice of a larger
 *   allocation (Node's pooled small Buffers, msgpackr output) would send the wrong bytes; here each
 *   view's own bytes are copied;
 * - received buffers come back as Buffers over the message's memory (no copy), not DataViews.
 *
 * Layout: u64 count n, n u64 offsets, then channel | header | parent_header | metadata | content |
 * buffer 0 | buffer 1 | ... (offsets little endian; the last offset is the end of the message).
 */
import { ServerConnection } from '@jupyterlab/services';

export const V1_PROTOCOL = 'v1.kernel.websocket.jupyter.org';

type WireBuffer = ArrayBuffer | ArrayBufferView;

/**
 * A kernel message as the websocket carries it: the shape of services' KernelMessage.IMessage,
 * stated here (as is WireSerializer) so that nbferry's public types do not import
 * @jupyterlab/services, whose declarations need React and json-schema types to type-check.
 */
export interface WireMessage {
  channel: string;
  header: object;
  parent_header: object;
  metadata: object;
  content: object;
  buffers?: WireBuffer[];
}

/** services' ServerConnection.ISettings['serializer'] (services' own one is assignable to it). */
export interface WireSerializer {
  serialize(msg: WireMessage, protocol?: string): string | ArrayBuffer;
  deserialize(data: ArrayBuffer, protocol?: string): WireMessage;
}

interface Encoded {
  parts: Uint8Array[];
  bytes: number;
}

function encodeV1(msg: WireMessage): Encoded {
  const text = [
    msg.channel,
    JSON.stringify(msg.header),
    msg.parent_header == null ? '{}' : JSON.stringify(msg.parent_header),
    JSON.stringify(msg.metadata ?? {}),
    JSON.stringify(msg.content),
  ].map((s) => Buffer.from(s, 'utf8'));
  const buffers = (msg.buffers ?? []).map(asBytes);
  const segments = [...text, ...buffers];
  const count = segments.length + 1;
  const table = Buffer.alloc(8 * (1 + count));
  table.writeBigUInt64LE(BigInt(count), 0);
  let offset = table.length;
  table.writeBigUInt64LE(BigInt(offset), 8);
  segments.forEach((segment, i) => {
    offset += segment.byteLength;
    table.writeBigUInt64LE(BigInt(offset), 8 * (i + 2));
  });
  return { parts: [table, ...segments], bytes: offset };
}

/** The size of `msg` on the websocket in the v1 framing (what the server's size limit applies to). */
export function encodedSize(msg: WireMessage): number {
  const json = (value: unknown) => Buffer.byteLength(JSON.stringify(value ?? {}), 'utf8');
  const buffers = msg.buffers ?? [];
  const text =
    Buffer.byteLength(msg.channel, 'utf8') + json(msg.header) + json(msg.parent_header) + json(msg.metadata) + json(msg.content);
  return 8 * (2 + 5 + buffers.length) + text + buffers.reduce((sum, b) => sum + b.byteLength, 0);
}

function decodeV1(data: ArrayBuffer): WireMessage {
  const view = new DataView(data);
  const count = Number(view.getBigUint64(0, true));
  const offsets: number[] = [];
  for (let i = 0; i < count; i++) offsets.push(Number(view.getBigUint64(8 * (i + 1), true)));
  const slice = (i: number) => Buffer.from(data, offsets[i]!, offsets[i + 1]! - offsets[i]!);
  const json = (i: number): unknown => JSON.parse(slice(i).toString('utf8'));
  const buffers: Buffer[] = [];
  for (let i = 5; i < offsets.length - 1; i++) buffers.push(slice(i));
  return {
    channel: slice(0).toString('utf8'),
    header: json(1),
    parent_header: json(2),
    metadata: json(3),
    content: json(4),
    buffers,
  } as WireMessage;
}

function asBytes(buffer: WireBuffer): Uint8Array {
  return ArrayBuffer.isView(buffer) ? new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength) : new Uint8Array(buffer);
}

/** A standalone ArrayBuffer holding exactly the view's bytes (for services' legacy serializer). */
function exactArrayBuffer(buffer: WireBuffer): ArrayBuffer {
  if (!ArrayBuffer.isView(buffer)) return buffer;
  const bytes = asBytes(buffer);
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer) return bytes.buffer;
  return bytes.slice().buffer;
}

/** Services' serializer with exact buffers for the v1 framing; other protocols go to services' own. */
export function exactSerializer(fallback: WireSerializer = ServerConnection.makeSettings().serializer): WireSerializer {
  return {
    serialize(msg, protocol) {
      if (protocol !== V1_PROTOCOL) return fallback.serialize({ ...msg, buffers: (msg.buffers ?? []).map(exactArrayBuffer) }, protocol);
      const { parts, bytes } = encodeV1(msg);
      const out = new Uint8Array(bytes);
      let at = 0;
      for (const part of parts) {
        out.set(part, at);
        at += part.byteLength;
      }
      return out.buffer;
    },
    deserialize(data, protocol) {
      if (protocol === V1_PROTOCOL) return decodeV1(data);
      const msg = fallback.deserialize(data, protocol);
      const buffers = (msg.buffers ?? []).map((b) => {
        const bytes = asBytes(b);
        return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      });
      return { ...msg, buffers };
    },
  };
}
