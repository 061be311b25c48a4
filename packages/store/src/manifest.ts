/**
 * The manifest file: magic, format version, msgpack body, and a SHA-256 of everything before it.
 * A manifest that fails any check is never read as a checkpoint.
 */
import { createHash } from 'node:crypto';
import { packMsgpack, unpackMsgpack } from '@nbferry/protocol';
import { CorruptCheckpointError, UnsupportedCheckpointVersionError } from './errors.js';

export const MANIFEST_FILE = 'manifest.nbf';
export const FORMAT_VERSION = 1;
const MAGIC = Buffer.from('NBFERRY\0', 'latin1');
const DIGEST_BYTES = 32;

export interface BlobEntry {
  /** File name inside the checkpoint's `blobs/` directory. */
  file: string;
  bytes: number;
  /** `<algorithm>:<hex>` of the file's bytes (see checksum.ts). */
  checksum: string;
  /** The variable group the blob holds. */
  group: string;
  variables: string[];
}

export interface Environment {
  python: string;
  platform: string;
  /** Versions of the packages whose objects were saved (name -> version). */
  packages: Record<string, string>;
}

export interface Manifest<Body = unknown> {
  format: 'nbferry-checkpoint';
  version: number;
  id: string;
  createdAt: string;
  environment: Environment;
  blobs: BlobEntry[];
  /** The plan, the history graph, fingerprints: owned by the migrate layer. */
  body: Body;
}

export function encodeManifest(manifest: Manifest): Buffer {
  const header = Buffer.alloc(MAGIC.length + 4);
  MAGIC.copy(header);
  header.writeUInt32BE(manifest.version, MAGIC.length);
  const body = packMsgpack(manifest);
  const digest = createHash('sha256').update(header).update(body).digest();
  return Buffer.concat([header, body, digest]);
}

export function decodeManifest<Body>(bytes: Buffer, path: string): Manifest<Body> {
  if (bytes.length < MAGIC.length + 4 + DIGEST_BYTES || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new CorruptCheckpointError(path, 'not an nbferry manifest');
  }
  const version = bytes.readUInt32BE(MAGIC.length);
  if (version !== FORMAT_VERSION) throw new UnsupportedCheckpointVersionError(path, version, FORMAT_VERSION);
  const signed = bytes.subarray(0, bytes.length - DIGEST_BYTES);
  const digest = createHash('sha256').update(signed).digest();
  if (!digest.equals(bytes.subarray(bytes.length - DIGEST_BYTES))) {
    throw new CorruptCheckpointError(path, 'manifest checksum mismatch');
  }
  let manifest: Manifest<Body>;
  try {
    manifest = unpackMsgpack<Manifest<Body>>(signed.subarray(MAGIC.length + 4));
  } catch (error) {
    throw new CorruptCheckpointError(path, `manifest body unreadable (${(error as Error).message})`);
  }
  if (manifest.format !== 'nbferry-checkpoint' || !Array.isArray(manifest.blobs)) {
    throw new CorruptCheckpointError(path, 'manifest lacks the checkpoint fields');
  }
  return manifest;
}
