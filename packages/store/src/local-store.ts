/**
 * A store on a local (or mounted) file system. Layout:
 *
 *   <root>/LATEST                   id of the newest committed checkpoint
 *   <root>/checkpoints/<id>/        one immutable checkpoint: manifest.nbf (+ blobs/ in format 1)
 *   <root>/chunks/<aa>/<sha256>     format 2: content-addressed blob chunks, shared by all checkpoints
 *   <root>/.staging/<id>/           a checkpoint being written; never read as a checkpoint
 *   <root>/.staging/<id>.lease      its writer (staging-lease.ts): staging is cleaned only when it is gone
 *
 * A checkpoint is written in staging (the kernel writes its blobs straight there), then the manifest
 * is written and fsynced, the directory is renamed into checkpoints/, and LATEST is replaced
 * atomically. A crash at any step leaves at worst a staging directory, which readers ignore and the
 * next writer (or `cleanStaging`/`prune`) removes once its lease shows the writer is gone; an
 * earlier checkpoint is never opened for writing.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { CHUNKS_DIR, chunkPath, chunkSpans, verifyChunk } from './chunks.js';
import { CRYPTOGRAPHIC_CHECKSUMS, checksumAlgorithm, fileChecksum } from './checksum.js';
import { replaceFileAtomic, syncDir, writeFileDurable } from './durable-fs.js';
import {
  CheckpointNotFoundError,
  CheckpointWriteError,
  CorruptCheckpointError,
  StoreError,
  UnsafeStoreEntryError,
  UntrustedCheckpointError,
} from './errors.js';
import { isAbandoned, isAbandonedTempLease, LEASE_SUFFIX, LEASE_TEMP_MARK, StagingLease } from './staging-lease.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { gcRunning, StoreBusyError } from './gc-lease.js';
import { FORMAT_VERSION, MANIFEST_FILE, decodeManifest, encodeManifest, type BlobEntry, type Manifest } from './manifest.js';
import { assertSafeName, isSafeName } from './names.js';
import { gc, type GcOptions, type GcResult } from './gc.js';
import type { CheckpointStore, RemoteChunks } from './store-api.js';
import { readRegularFile } from './safe-open.js';
import {
  SIGNATURE_FILE,
  decodeSignature,
  encodeSignature,
  signManifest,
  signatureMatches,
  type CheckpointKey,
  type ManifestSignature,
} from './signing.js';

const LATEST = 'LATEST';
/** How long `begin` waits for a running gc (which itself waits at most GC_WRITER_WAIT_MS for writers) before StoreBusyError. */
const GC_WAIT_MS = 120_000;
const CHECKPOINTS = 'checkpoints';
const STAGING = '.staging';
const BLOBS = 'blobs';

/** A manifest, LATEST or signature larger than this is refused unread. */
const MANIFEST_MAX_BYTES = 1024 * 1024 * 1024;
const SMALL_FILE_MAX_BYTES = 64 * 1024;

export type ManifestInput<Body> = Omit<Manifest<Body>, 'format' | 'version' | 'id' | 'createdAt'>;

/** Which checkpoints a reader accepts. */
export interface TrustOptions {
  /**
   * Require checkpoints signed by this key (a public key suffices to verify). A checkpoint that is
   * unsigned, signed by another key or modified since signing is refused with
   * UntrustedCheckpointError before anything of it is loaded or run.
   */
  key?: CheckpointKey;
  /** With `key`: accept an unsigned checkpoint or one signed by another key anyway (the caller trusts it). */
  trustUnsigned?: boolean;
}

export interface StoreOptions extends TrustOptions {}

/** What is known of a checkpoint's signature. */
export type SignatureStatus =
  | { state: 'unsigned' }
  /** Signed, but no key was given to check it with (or another key, trusted by the caller). */
  | { state: 'signed'; keyId: string }
  | { state: 'verified'; keyId: string };

export class LocalStore implements CheckpointStore {
  readonly root: string;

  /** `key`: commits are signed with it (a private key) and opens require its signature. */
  constructor(
    root: string,
    readonly options: StoreOptions = {},
  ) {
    this.root = resolve(root);
  }

  /** Where format 2 chunks live (see chunks.ts). */
  get chunksDir(): string {
    return join(this.root, CHUNKS_DIR);
  }

  /**
   * Starts a checkpoint in a private staging directory, leased to this process. Cleans up what
   * crashed writers left behind first (never a live writer's).
   */
  async begin(options: { signal?: AbortSignal; gcWaitMs?: number } = {}): Promise<CheckpointDraft> {
    await this.cleanStaging().catch(() => []);
    const id = `${new Date().toISOString().replace(/[-:.]/g, '').replace('T', '-').slice(0, 18)}-${randomBytes(4).toString('hex')}`;
    const dir = join(this.root, STAGING, id);
    let lease: StagingLease | undefined;
    try {
      // A `.staging` planted as a symlink would send the kernel's writes out of the store.
      if (existsSync(join(this.root, STAGING))) await assertRealDir(join(this.root, STAGING));
      await mkdir(join(this.root, STAGING), { recursive: true, mode: 0o700 });
      // Lease first, then look for a gc (gc-lease.ts): while gc sweeps, no writer is in flight.
      const started = Date.now();
      for (;;) {
        lease = await StagingLease.acquire(dir + LEASE_SUFFIX);
        if (!(await gcRunning(this.root))) break;
        await lease.release();
        lease = undefined;
        if (Date.now() - started > (options.gcWaitMs ?? GC_WAIT_MS)) throw new StoreBusyError(this.root, Date.now() - started);
        await sleep(50, undefined, { signal: options.signal });
      }
      await mkdir(join(dir, BLOBS), { recursive: true, mode: 0o700 });
      await assertRealDir(join(this.root, STAGING));
      // A `chunks` planted as a symlink would send the kernel's chunk writes out of the store.
      await mkdir(this.chunksDir, { recursive: true, mode: 0o700 });
      await assertRealDir(this.chunksDir);
    } catch (error) {
      await lease?.release().catch(() => {});
      if (error instanceof StoreError) throw error;
      throw new CheckpointWriteError(this.root, error);
    }
    return new CheckpointDraft(this, id, dir, lease);
  }

  /**
   * Removes staging directories whose writer is gone (crashed, killed; see staging-lease.ts) and
   * returns their ids. A checkpoint another live process is writing is never touched.
   */
  async cleanStaging(): Promise<string[]> {
    const staging = join(this.root, STAGING);
    if (!existsSync(staging)) return [];
    // Never delete through a `.staging` planted as a symlink (it would remove files outside the store).
    await assertRealDir(staging);
    let entries: string[];
    try {
      entries = await readdir(staging);
    } catch {
      return [];
    }
    const removed: string[] = [];
    for (const temp of entries.filter((e) => e.includes(LEASE_TEMP_MARK))) {
      if (await isAbandonedTempLease(join(staging, temp))) await rm(join(staging, temp), { force: true });
    }
    const ids = new Set(
      entries.filter((e) => !e.includes(LEASE_TEMP_MARK)).map((e) => (e.endsWith(LEASE_SUFFIX) ? e.slice(0, -LEASE_SUFFIX.length) : e)),
    );
    for (const id of ids) {
      const dir = join(staging, id);
      if (!(await isAbandoned(dir + LEASE_SUFFIX, dir))) continue;
      await rm(dir, { recursive: true, force: true });
      await rm(dir + LEASE_SUFFIX, { force: true });
      removed.push(id);
    }
    return removed;
  }

  /** Ids of committed checkpoints, oldest first. */
  async list(): Promise<string[]> {
    try {
      return (await readdir(join(this.root, CHECKPOINTS))).filter(isSafeName).sort();
    } catch {
      return [];
    }
  }

  /** The id LATEST names; UnsafeStoreEntryError if LATEST is not a plain file holding a plain id. */
  async latestId(): Promise<string | undefined> {
    const path = join(this.root, LATEST);
    let text: string;
    try {
      text = (await readRegularFile(path, SMALL_FILE_MAX_BYTES)).toString('utf8').trim();
    } catch (error) {
      if (error instanceof StoreError) throw error;
      return undefined;
    }
    return text ? assertSafeName(text, 'checkpoint id', path) : undefined;
  }

  /** Opens a checkpoint by id, or the latest one; with a key, only one signed by it (see TrustOptions). */
  async open<Body = unknown>(id?: string, trust: TrustOptions = this.options): Promise<StoredCheckpoint<Body>> {
    const chosen = id ?? (await this.latestId());
    if (!chosen) throw new CheckpointNotFoundError(this.root, 'the store has no committed checkpoint');
    assertSafeName(chosen, 'checkpoint id', this.root);
    const checkpoints = join(this.root, CHECKPOINTS);
    const dir = join(checkpoints, chosen);
    if (existsSync(checkpoints)) await assertRealDir(checkpoints);
    if (existsSync(dir)) await assertRealDir(dir);
    return readCheckpointDir<Body>(dir, trust);
  }

  /** Removes abandoned staging directories (from crashed writers) and all but the newest `keep` checkpoints. */
  async prune(keep: number): Promise<void> {
    await this.cleanStaging();
    const ids = await this.list();
    const latest = await this.latestId();
    for (const id of ids.slice(0, Math.max(0, ids.length - keep))) {
      if (id !== latest) await rm(join(this.root, CHECKPOINTS, id), { recursive: true, force: true });
    }
  }

  /** Retention and garbage collection (gc.ts). */
  collectGarbage(options: GcOptions = {}): Promise<GcResult> {
    return gc(this, options);
  }

  /** @internal Moves a complete staging directory into place and points LATEST at it. */
  async publish(id: string, stagingDir: string): Promise<string> {
    assertSafeName(id, 'checkpoint id', this.root);
    const checkpoints = join(this.root, CHECKPOINTS);
    await mkdir(checkpoints, { recursive: true, mode: 0o700 });
    await assertRealDir(checkpoints);
    const finalDir = join(checkpoints, id);
    await rename(stagingDir, finalDir);
    await syncDir(checkpoints);
    await replaceFileAtomic(join(this.root, LATEST), `${id}\n`, this.root);
    return finalDir;
  }
}

export class CheckpointDraft {
  private done = false;

  constructor(
    readonly store: LocalStore,
    readonly id: string,
    /** Staging directory; blobs go in `blobsDir`. */
    readonly dir: string,
    private readonly lease?: StagingLease,
  ) {}

  get blobsDir(): string {
    return join(this.dir, BLOBS);
  }

  /** Where the kernel writes this checkpoint's chunks (shared with every checkpoint of the store). */
  get chunksDir(): string {
    return this.store.chunksDir;
  }

  /**
   * Checks every blob is present with its declared size, writes the manifest durably and publishes
   * the checkpoint. On any failure the draft is discarded and CheckpointWriteError says why.
   */
  async commit<Body>(input: ManifestInput<Body>, options: { signWith?: CheckpointKey } = {}): Promise<StoredCheckpoint<Body>> {
    const key = options.signWith ?? this.store.options.key;
    if (this.done) throw new StoreError(`checkpoint draft ${this.id} was already committed or aborted`, 'DRAFT_CLOSED');
    this.done = true;
    const manifest: Manifest<Body> = {
      format: 'nbferry-checkpoint',
      version: FORMAT_VERSION,
      id: this.id,
      createdAt: new Date().toISOString(),
      ...input,
    };
    try {
      for (const blob of manifest.blobs) {
        assertSafeName(blob.file, 'blob file', this.blobsDir);
        if (blob.chunks) {
          // Present with their size: written (or found) by the kernel, durable before it replied.
          for (const { digest, bytes } of chunkSpans(blob)) {
            const info = await lstat(chunkPath(this.chunksDir, digest));
            if (!info.isFile() || info.size !== bytes) throw new UnsafeStoreEntryError(chunkPath(this.chunksDir, digest), `it is not a regular file of ${bytes} bytes`);
          }
          continue;
        }
        const info = await lstat(join(this.blobsDir, blob.file));
        if (!info.isFile()) throw new UnsafeStoreEntryError(join(this.blobsDir, blob.file), 'it is not a regular file');
        if (info.size !== blob.bytes) throw new Error(`blob ${blob.file} is ${info.size} bytes, the kernel reported ${blob.bytes}`);
        if (key && !CRYPTOGRAPHIC_CHECKSUMS.includes(checksumAlgorithm(blob.checksum))) {
          throw new StoreError(`cannot sign: blob ${blob.file} has a ${checksumAlgorithm(blob.checksum)} checksum, which can be forged; a signed checkpoint needs sha256-8m`, 'SIGN_WEAK_CHECKSUM');
        }
      }
      await syncDir(this.blobsDir);
      const bytes = encodeManifest(manifest as Manifest);
      await writeFileDurable(join(this.dir, MANIFEST_FILE), bytes);
      const signature = key ? signManifest(bytes, key) : undefined;
      if (signature) await writeFileDurable(join(this.dir, SIGNATURE_FILE), encodeSignature(signature));
      await syncDir(this.dir);
      const finalDir = await this.store.publish(this.id, this.dir);
      await this.lease?.release().catch(() => {});
      const status: SignatureStatus = key ? { state: 'verified', keyId: key.keyId } : { state: 'unsigned' };
      return new StoredCheckpoint(finalDir, manifest, bytes, signature, status);
    } catch (error) {
      await rm(this.dir, { recursive: true, force: true }).catch(() => {});
      await this.lease?.release().catch(() => {});
      if (error instanceof StoreError) throw error;
      throw new CheckpointWriteError(this.store.root, error);
    }
  }

  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await rm(this.dir, { recursive: true, force: true });
    await this.lease?.release();
  }
}

export class StoredCheckpoint<Body = unknown> {
  constructor(
    /** The checkpoint's directory. */
    readonly dir: string,
    readonly manifest: Manifest<Body>,
    /** The manifest file's bytes, exactly as decoded into `manifest` (what a signature covers). */
    readonly manifestBytes: Uint8Array = encodeManifest(manifest as Manifest),
    /** The content of `manifest.sig`, when the checkpoint has one. */
    readonly signature?: ManifestSignature,
    /** The signature as checked when the checkpoint was opened. */
    readonly signatureStatus: SignatureStatus = signature ? { state: 'signed', keyId: signature.keyId } : { state: 'unsigned' },
    /** Set when the checkpoint is in a remote store (`dir` is then a URL): its chunks are read through this. */
    readonly remote?: RemoteChunks,
  ) {}

  /**
   * Checks this checkpoint against `trust` (a restore given an opened checkpoint calls it again with
   * its own options): returns the signature's status or throws UntrustedCheckpointError.
   */
  checkTrust(trust: TrustOptions): SignatureStatus {
    return checkSignature(this.dir, this.manifest, this.manifestBytes, this.signature, trust);
  }

  get blobsDir(): string {
    return join(this.dir, BLOBS);
  }

  /** Where format 2 chunks live: the store holding this checkpoint (`<store>/checkpoints/<id>`). */
  get chunksDir(): string {
    return join(dirname(dirname(this.dir)), CHUNKS_DIR);
  }

  /**
   * The file holding a blob's bytes: its file in `blobs/` (format 1), or its only chunk (format 2,
   * a blob of at most 8 MiB). A larger chunked blob has several files: `blobFiles`.
   */
  blobPath(blob: BlobEntry): string {
    const files = this.blobFiles(blob);
    if (files.length !== 1) throw new StoreError(`blob ${blob.file} is stored in ${files.length} chunks; use blobFiles()`, 'BLOB_CHUNKED');
    return files[0]!;
  }

  /** The files holding a blob's bytes, in order. */
  blobFiles(blob: BlobEntry): string[] {
    if (blob.chunks) return blob.chunks.map((digest) => chunkPath(this.chunksDir, digest));
    return [join(this.blobsDir, blob.file)];
  }

  /** Re-reads a blob and compares its checksum with the manifest's (false for a FIFO, symlink or wrong size too). */
  async verifyBlob(blob: BlobEntry): Promise<boolean> {
    return (await this.blobProblem(blob)) === undefined;
  }

  /** Why a blob cannot be used (not a plain file of the manifest's size, checksum mismatch), or undefined. */
  async blobProblem(blob: BlobEntry): Promise<string | undefined> {
    try {
      assertSafeName(blob.file, 'blob file', this.blobsDir);
      if (blob.chunks && this.remote) {
        for (const { digest, bytes } of chunkSpans(blob)) await this.remote.get(digest, bytes);
        return undefined;
      }
      if (blob.chunks) {
        // The manifest decoder checked the checksum is sha256-8m over these names: each chunk matching its name suffices.
        for (const { digest, bytes } of chunkSpans(blob)) {
          if (!(await verifyChunk(this.chunksDir, digest, bytes))) return `chunk ${digest} does not match its name (${checksumAlgorithm(blob.checksum)} mismatch)`;
        }
        return undefined;
      }
      const sum = await fileChecksum(this.blobPath(blob), checksumAlgorithm(blob.checksum), blob.bytes);
      return sum === blob.checksum ? undefined : `${checksumAlgorithm(blob.checksum)} mismatch`;
    } catch (error) {
      return error instanceof UnsafeStoreEntryError || (this.remote && error instanceof StoreError) ? error.message : `unreadable (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`;
    }
  }
}

/** The signature check of TrustOptions; throws UntrustedCheckpointError. */
function checkSignature(
  dir: string,
  manifest: Manifest<unknown>,
  bytes: Uint8Array,
  signature: ManifestSignature | undefined,
  trust: TrustOptions,
): SignatureStatus {
  const { key } = trust;
  if (!key) return signature ? { state: 'signed', keyId: signature.keyId } : { state: 'unsigned' };
  if (!signature) {
    if (trust.trustUnsigned) return { state: 'unsigned' };
    throw new UntrustedCheckpointError(dir, 'unsigned', `it is unsigned and key ${key.keyId} is required`);
  }
  if (signature.keyId !== key.keyId) {
    if (trust.trustUnsigned) return { state: 'signed', keyId: signature.keyId };
    throw new UntrustedCheckpointError(dir, 'other-key', `it is signed by key ${signature.keyId}, not by the required key ${key.keyId}`);
  }
  // Claimed by our key: a mismatch is tampering, refused even when unsigned ones are trusted.
  if (!signatureMatches(bytes, signature, key)) {
    throw new UntrustedCheckpointError(dir, 'bad-signature', `its signature by key ${key.keyId} does not match its manifest`);
  }
  const weak = manifest.blobs.find((b) => !CRYPTOGRAPHIC_CHECKSUMS.includes(checksumAlgorithm(b.checksum)));
  if (weak) {
    throw new UntrustedCheckpointError(dir, 'weak-checksum', `blob ${weak.file} is only protected by ${checksumAlgorithm(weak.checksum)}, which can be forged`);
  }
  return { state: 'verified', keyId: key.keyId };
}

/** Throws UnsafeStoreEntryError unless `path` is a directory itself (not a symlink to one). */
async function assertRealDir(path: string): Promise<void> {
  const info = await lstat(path);
  if (info.isSymbolicLink()) throw new UnsafeStoreEntryError(path, 'it is a symbolic link; a store never follows links out of itself');
  if (!info.isDirectory()) throw new UnsafeStoreEntryError(path, 'it is not a directory');
}

/**
 * Opens what a user points at: a store (its latest checkpoint) or one checkpoint directory.
 */
export async function openCheckpoint<Body = unknown>(path: string, trust: TrustOptions = {}): Promise<StoredCheckpoint<Body>> {
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(path)) {
    // A URL: its store (s3://, file://) or a typed error; imported here lazily (open-store imports this module).
    const { openStore } = await import('./open-store.js');
    const store = await openStore(path, trust);
    if (store instanceof LocalStore) return openCheckpoint<Body>(store.root, trust);
    return store.open<Body>(undefined, trust); // its chunks are read through the store later: left open
  }
  const absolute = resolve(path);
  if (existsSync(join(absolute, MANIFEST_FILE))) return readCheckpointDir<Body>(absolute, trust);
  if (existsSync(join(absolute, LATEST)) || existsSync(join(absolute, CHECKPOINTS))) return new LocalStore(absolute, trust).open<Body>();
  throw new CheckpointNotFoundError(absolute, existsSync(absolute) ? 'neither a store nor a checkpoint directory' : 'no such directory');
}

async function readCheckpointDir<Body>(dir: string, trust: TrustOptions): Promise<StoredCheckpoint<Body>> {
  let bytes: Buffer;
  try {
    bytes = await readRegularFile(join(dir, MANIFEST_FILE), MANIFEST_MAX_BYTES);
  } catch (error) {
    if (error instanceof StoreError) throw error;
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new CheckpointNotFoundError(dir, 'it has no manifest');
    throw new CorruptCheckpointError(dir, (error as Error).message);
  }
  const signature = await readSignature(dir);
  const manifest = decodeManifest<Body>(bytes, dir);
  if (existsSync(join(dir, BLOBS))) await assertRealDir(join(dir, BLOBS));
  const status = checkSignature(dir, manifest, bytes, signature, trust);
  return new StoredCheckpoint(dir, manifest, bytes, signature, status);
}

async function readSignature(dir: string): Promise<ManifestSignature | undefined> {
  const path = join(dir, SIGNATURE_FILE);
  let bytes: Buffer;
  try {
    bytes = await readRegularFile(path, SMALL_FILE_MAX_BYTES);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error instanceof StoreError ? error : new CorruptCheckpointError(dir, `its signature file is unreadable (${(error as Error).message})`);
  }
  const signature = decodeSignature(bytes);
  if (!signature) throw new CorruptCheckpointError(dir, `${SIGNATURE_FILE} is not an nbferry signature`);
  return signature;
}
