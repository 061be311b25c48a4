/**
 * Where the list of a server's suspended notebooks (its SuspendRecord) is kept, beside the users'
 * stores: files under a local root, or objects in the bucket of an `s3://` root. With an object
 * store the record lives in the bucket only, so a service on another node (or restarted with an
 * empty disk) finds what was suspended and restores it: the object store is the only shared state.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { openStore, StoreError } from '@nbferry/store';

/** Small JSON documents by store-relative name (`user-alice/suspended-default.json`). */
export interface RecordStore {
  read(name: string): Promise<string | undefined>;
  /** Replaces the document whole (readers see the old one or the new one, never a part). */
  write(name: string, text: string): Promise<void>;
  remove(name: string): Promise<void>;
  close(): void;
}

const RECORD_MAX_BYTES = 16 * 1024 * 1024;

/** Files under `root`, written to a temporary name then renamed. */
export class FileRecords implements RecordStore {
  constructor(readonly root: string) {}

  async read(name: string): Promise<string | undefined> {
    return readFile(join(this.root, name), 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
  }

  async write(name: string, text: string): Promise<void> {
    const file = join(this.root, name);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(`${file}.tmp`, text, { mode: 0o600 });
    await rename(`${file}.tmp`, file);
  }

  async remove(name: string): Promise<void> {
    await rm(join(this.root, name), { force: true });
  }

  close(): void {}
}

/** What this module uses of @nbferry/store-s3's S3Store (loaded by openStore, so no AWS SDK import here). */
interface ObjectAccess {
  root: string;
  key(path: string): string;
  getSmall(key: string, max: number): Promise<Uint8Array | undefined>;
  put(key: string, body: string): Promise<void>;
  delete(key: string): Promise<void>;
  close?(): void;
}

/** Objects under an `s3://bucket/prefix` root (a PUT replaces an object atomically). */
export class ObjectRecords implements RecordStore {
  private opened: Promise<ObjectAccess> | undefined;

  constructor(readonly root: string) {}

  private objects(): Promise<ObjectAccess> {
    this.opened ??= openStore(this.root).then((store) => {
      const access = store as unknown as Partial<ObjectAccess>;
      if (typeof access.getSmall !== 'function' || typeof access.put !== 'function' || typeof access.delete !== 'function' || typeof access.key !== 'function') {
        store.close?.();
        throw new StoreError(`store ${this.root}: its backend cannot keep the service's records (no object access); use s3:// or a directory`, 'STORE_RECORDS_UNSUPPORTED');
      }
      return access as ObjectAccess;
    });
    // A failed open (no backend package, bad URL) is tried again at the next call.
    this.opened.catch(() => (this.opened = undefined));
    return this.opened;
  }

  async read(name: string): Promise<string | undefined> {
    const objects = await this.objects();
    const bytes = await objects.getSmall(objects.key(name), RECORD_MAX_BYTES);
    return bytes === undefined ? undefined : Buffer.from(bytes).toString('utf8');
  }

  async write(name: string, text: string): Promise<void> {
    const objects = await this.objects();
    await objects.put(objects.key(name), text);
  }

  async remove(name: string): Promise<void> {
    const objects = await this.objects();
    await objects.delete(objects.key(name));
  }

  close(): void {
    void this.opened?.then((objects) => objects.close?.()).catch(() => {});
  }
}
