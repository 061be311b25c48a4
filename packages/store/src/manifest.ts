/**
 * The manifest file: magic, format version, msgpack body, and a SHA-256 of everything before it.
 * A manifest that fails any check is never read as a checkpoint. Checks run integrity first (the
 * trailing digest, a layout every version keeps), then the version, then every field's type, so a
 * damaged byte reads as damage (not as "upgrade nbferry") and a malformed field as a typed error.
 */
import { createHash } from 'node:crypto';
import { packMsgpack, unpackMsgpack } from '@nbferry/protocol';
import { CHECKSUM_ALGORITHMS, HASH_CHUNK_BYTES } from './checksum.js';
import { CorruptCheckpointError, UnsupportedCheckpointVersionError } from './errors.js';
import { isSafeName } from './names.js';

export const MANIFEST_FILE = 'manifest.nbf';
/** What this nbferry writes: 3 (content-addressed chunks cut by content, with their sizes listed). */
export const FORMAT_VERSION = 3;
/** What it reads: 1 (one blob file per group, in the checkpoint's directory), 2 (fixed 8 MiB chunks) and 3. */
export const READABLE_VERSIONS: readonly number[] = [1, 2, 3];
/** Largest chunk a format 3 blob may list (python-shim cutpoints.MAX). */
export const MAX_CHUNK_BYTES = 8 * 1024 * 1024;
const MAGIC = Buffer.from('NBFERRY\0', 'latin1');
const DIGEST_BYTES = 32;

export interface BlobEntry {
  /**
   * File name inside the checkpoint's `blobs/` directory; for a chunked blob (`chunks`), a label
   * unique in the manifest (no such file exists).
   */
  file: string;
  /**
   * Format 2 and 3: the blob's content-addressed chunks in order (SHA-256 hex of each chunk,
   * stored as `<store>/chunks/<first 2 hex>/<hex>`). `checksum` is then SHA-256 over these digests:
   * `sha256-8m` when the chunks are the blob's consecutive 8 MiB slices (format 2), `sha256-chunks`
   * when their sizes are listed in `chunkBytes` (format 3: boundaries chosen by content).
   */
  chunks?: string[];
  /** Format 3: each chunk's size in bytes (1 to 8 MiB, adding up to `bytes`). */
  chunkBytes?: number[];
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
  /** Format 2: the checkpoint this one continues (the previous one of the same kernel, or the one it was restored from). */
  parent?: string;
  /** Format 2: bytes this checkpoint added to the store (chunks not already there), and its blobs' total. */
  stats?: { newBytes: number; totalBytes: number };
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
  const signed = bytes.subarray(0, bytes.length - DIGEST_BYTES);
  const digest = createHash('sha256').update(signed).digest();
  if (!digest.equals(bytes.subarray(bytes.length - DIGEST_BYTES))) {
    throw new CorruptCheckpointError(path, 'manifest checksum mismatch');
  }
  const version = bytes.readUInt32BE(MAGIC.length);
  if (!READABLE_VERSIONS.includes(version)) throw new UnsupportedCheckpointVersionError(path, version, FORMAT_VERSION);
  let manifest: unknown;
  try {
    manifest = unpackMsgpack<unknown>(signed.subarray(MAGIC.length + 4));
  } catch (error) {
    throw new CorruptCheckpointError(path, `manifest body unreadable (${(error as Error).message})`);
  }
  const problem = manifestProblem(manifest, version);
  if (problem) throw new CorruptCheckpointError(path, `manifest ${problem}`);
  return manifest as Manifest<Body>;
}

/** What is wrong with a decoded manifest's fields, or undefined. The body is the migrate layer's to check. */
export function manifestProblem(value: unknown, version: number): string | undefined {
  if (!isRecord(value) || value.format !== 'nbferry-checkpoint') return 'lacks the checkpoint fields';
  if (value.version !== version) return `says version ${String(value.version)} inside a version ${version} file`;
  if (!isSafeName(value.id)) return 'has no valid id';
  if (typeof value.createdAt !== 'string') return 'has no creation time';
  const env = value.environment;
  if (!isRecord(env) || typeof env.python !== 'string' || typeof env.platform !== 'string' || !isRecord(env.packages)) {
    return 'has no valid environment';
  }
  if (!Object.values(env.packages).every((v) => typeof v === 'string')) return 'has a package version that is not a string';
  if (!Array.isArray(value.blobs)) return 'has no blob list';
  if (value.parent !== undefined && !isSafeName(value.parent)) return 'has an invalid parent id';
  if (value.stats !== undefined && !(isRecord(value.stats) && isSize(value.stats.newBytes) && isSize(value.stats.totalBytes))) {
    return 'has invalid stats';
  }
  if (version < 2 && (value.parent !== undefined || value.stats !== undefined)) return 'has format 2 fields in a version 1 file';
  const files = new Set<string>();
  for (const [i, blob] of value.blobs.entries()) {
    const bad = blobProblem(blob) ?? (isRecord(blob) && blob.chunks !== undefined ? chunkListProblem(blob as unknown as BlobEntry, version) : undefined);
    if (bad) return `blob ${i} ${bad}`;
    const { file } = blob as BlobEntry;
    if (files.has(file)) return `names blob ${file} twice`;
    files.add(file);
  }
  if (!('body' in value)) return 'has no body';
  return undefined;
}

function blobProblem(blob: unknown): string | undefined {
  if (!isRecord(blob)) return 'is not an entry';
  if (!isSafeName(blob.file)) return `has an unsafe file name ${JSON.stringify(blob.file)}`;
  if (typeof blob.bytes !== 'number' || !Number.isSafeInteger(blob.bytes) || blob.bytes < 0) return 'has no valid size';
  if (typeof blob.checksum !== 'string' || !/^[a-z0-9-]+:[0-9a-f]{64}$/.test(blob.checksum)) return 'has no valid checksum';
  if (!CHECKSUM_ALGORITHMS.includes(blob.checksum.slice(0, blob.checksum.indexOf(':')))) return 'has an unknown checksum algorithm';
  if (typeof blob.group !== 'string') return 'has no group';
  if (!Array.isArray(blob.variables) || !blob.variables.every((v) => typeof v === 'string')) return 'has no variable list';
  return undefined;
}

/**
 * A chunk list must be what the checksum commits to (`sha256-8m` or, with listed sizes,
 * `sha256-chunks` over exactly these digests) and fit the size: the signature over the manifest then covers every chunk by name.
 */
function chunkListProblem(blob: BlobEntry, version: number): string | undefined {
  const chunks: unknown = blob.chunks;
  if (version < 2) return 'has chunks in a version 1 file';
  if (!Array.isArray(chunks) || !chunks.every((c) => typeof c === 'string' && /^[0-9a-f]{64}$/.test(c))) return 'has an invalid chunk list';
  const sizes: unknown = blob.chunkBytes;
  let algorithm = 'sha256-8m';
  if (sizes === undefined) {
    if (chunks.length !== Math.max(1, Math.ceil(blob.bytes / HASH_CHUNK_BYTES))) return `has ${chunks.length} chunks for ${blob.bytes} bytes`;
  } else {
    if (version < 3) return `has chunk sizes in a version ${version} file`;
    if (!Array.isArray(sizes) || sizes.length !== chunks.length || !sizes.every((n) => Number.isSafeInteger(n) && n > 0 && n <= MAX_CHUNK_BYTES)) {
      return 'has invalid chunk sizes';
    }
    if ((sizes as number[]).reduce((a, b) => a + b, 0) !== blob.bytes) return `has chunk sizes that do not add up to ${blob.bytes} bytes`;
    algorithm = 'sha256-chunks';
  }
  const sum = createHash('sha256');
  for (const c of chunks as string[]) sum.update(Buffer.from(c, 'hex'));
  if (blob.checksum !== `${algorithm}:${sum.digest('hex')}`) return `has a checksum that is not ${algorithm} over its chunks`;
  return undefined;
}

function isSize(value: unknown): boolean {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}
