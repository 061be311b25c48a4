/**
 * msgpack codec for shim payloads. Plain maps and arrays both ways (no msgpackr records, which
 * Python cannot read); 64-bit integers decode to numbers when exactly representable, else bigint.
 */
import { Packr } from 'msgpackr';
import { ProtocolError } from './errors.js';
import { toBuffer } from './wire.js';

const packr = new Packr({
  useRecords: false,
  mapsAsObjects: true,
  // 'auto' exists in msgpackr's decoder but is missing from its type declarations.
  int64AsType: 'auto' as 'number',
  variableMapSize: true,
});

export function packMsgpack(value: unknown): Buffer {
  return packr.pack(value);
}

export function unpackMsgpack<T = unknown>(bytes: Uint8Array | DataView | ArrayBuffer): T {
  try {
    return packr.unpack(toBuffer(bytes)) as T;
  } catch (error) {
    throw new ProtocolError(`malformed msgpack payload: ${(error as Error).message}`, 'malformed');
  }
}
