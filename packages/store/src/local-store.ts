/**
 * A store on a local (or mounted) file system. Layout:
 *
 *   <root>/LATEST                   id of the newest committed checkpoint
 *   <root>/checkpoints/<id>/        one immutable checkpoint: manifest.nbf + blobs/
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
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { checksumAlgorithm, fileChecksum } from './checksum.js';
import { replaceFileAtomic, syncDir, writeFileDurable } from './durable-fs.js';
import { CheckpointNotFoundError, CheckpointWriteError, CorruptCheckpointError, StoreError } from './errors.js';
import { isAbandoned, LEASE_SUFFIX, StagingLease } from './staging-lease.js';
import { FORMAT_VERSION, MANIFEST_FILE, decodeManifest, encodeManifest, type BlobEntry, type Manifest } from './manifest.js';

const LATEST = 'LATEST';
const CHECKPOINTS = 'checkpoints';
const STAGING = '.staging';
const BLOBS = 'blobs';

export type ManifestInput<Body> = Omit<Manifest<Body>, 'format' | 'version' | 'id' | 'createdAt'>;

export class LocalStore {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  /**
   * Starts a checkpoint in a private staging directory, leased to this process. Cleans up what
   * crashed writers left behind first (never a live writer's).
   */
  async begin(): Promise<CheckpointDraft> {
    await this.cleanStaging().catch(() => []);
    const id = `${new Date().toISOString().replace(/[-:.]/g, '').replace('T', '-').slice(0, 15)}-${randomBytes(4).toString('hex')}`;
    const dir = join(this.root, STAGING, id);
    let lease: StagingLease | undefined;
    try {
      await mkdir(join(this.root, STAGING), { recursive: true, mode: 0o700 });
      lease = await StagingLease.acquire(dir + LEASE_SUFFIX);
      await mkdir(join(dir, BLOBS), { recursive: true, mode: 0o700 });
    } catch (error) {
      await lease?.release().catch(() => {});
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
    let entries: string[];
    try {
      entries = await readdir(staging);
    } catch {
      return [];
    }
    const ids = new Set(entries.map((e) => (e.endsWith(LEASE_SUFFIX) ? e.slice(0, -LEASE_SUFFIX.length) : e)));
    const removed: string[] = [];
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
      return (await readdir(join(this.root, CHECKPOINTS))).sort();
    } catch {
      return [];
    }
  }

  async latestId(): Promise<string | undefined> {
    try {
      return (await readFile(join(this.root, LATEST), 'utf8')).trim() || undefined;
    } catch {
      return undefined;
    }
  }

  /** Opens a checkpoint by id, or the latest one. */
  async open<Body = unknown>(id?: string): Promise<StoredCheckpoint<Body>> {
    const chosen = id ?? (await this.latestId());
    if (!chosen) throw new CheckpointNotFoundError(this.root, 'the store has no committed checkpoint');
    return readCheckpointDir<Body>(join(this.root, CHECKPOINTS, chosen));
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

  /** @internal Moves a complete staging directory into place and points LATEST at it. */
  async publish(id: string, stagingDir: string): Promise<string> {
    const checkpoints = join(this.root, CHECKPOINTS);
    await mkdir(checkpoints, { recursive: true, mode: 0o700 });
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

  /**
   * Checks every blob is present with its declared size, writes the manifest durably and publishes
   * the checkpoint. On any failure the draft is discarded and CheckpointWriteError says why.
   */
  async commit<Body>(input: ManifestInput<Body>): Promise<StoredCheckpoint<Body>> {
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
        const size = (await stat(join(this.blobsDir, blob.file))).size;
        if (size !== blob.bytes) throw new Error(`blob ${blob.file} is ${size} bytes, the kernel reported ${blob.bytes}`);
      }
      await syncDir(this.blobsDir);
      await writeFileDurable(join(this.dir, MANIFEST_FILE), encodeManifest(manifest as Manifest));
      await syncDir(this.dir);
      const finalDir = await this.store.publish(this.id, this.dir);
      await this.lease?.release().catch(() => {});
      return new StoredCheckpoint(finalDir, manifest);
    } catch (error) {
      await rm(this.dir, { recursive: true, force: true }).catch(() => {});
      await this.lease?.release().catch(() => {});
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
  ) {}

  get blobsDir(): string {
    return join(this.dir, BLOBS);
  }

  blobPath(blob: BlobEntry): string {
    return join(this.blobsDir, blob.file);
  }

  /** Re-reads a blob and compares its checksum with the manifest's. */
  async verifyBlob(blob: BlobEntry): Promise<boolean> {
    try {
      return (await fileChecksum(this.blobPath(blob), checksumAlgorithm(blob.checksum))) === blob.checksum;
    } catch {
      return false;
    }
  }
}

/**
 * Opens what a user points at: a store (its latest checkpoint) or one checkpoint directory.
 */
export async function openCheckpoint<Body = unknown>(path: string): Promise<StoredCheckpoint<Body>> {
  const absolute = resolve(path);
  if (existsSync(join(absolute, MANIFEST_FILE))) return readCheckpointDir<Body>(absolute);
  if (existsSync(join(absolute, LATEST)) || existsSync(join(absolute, CHECKPOINTS))) return new LocalStore(absolute).open<Body>();
  throw new CheckpointNotFoundError(absolute, existsSync(absolute) ? 'neither a store nor a checkpoint directory' : 'no such directory');
}

async function readCheckpointDir<Body>(dir: string): Promise<StoredCheckpoint<Body>> {
  let bytes: Buffer;
  try {
    bytes = await readFile(join(dir, MANIFEST_FILE));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new CheckpointNotFoundError(dir, 'it has no manifest');
    throw new CorruptCheckpointError(dir, (error as Error).message);
  }
  return new StoredCheckpoint(dir, decodeManifest<Body>(bytes, dir));
}
