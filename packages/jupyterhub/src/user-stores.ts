/**
 * Where a user's checkpoints go: one store per user and notebook path, under a configured root, so
 * a notebook's history continues across suspends, returns and moves between the user's servers.
 * Beside them, the record of what was suspended (per server), read when the server comes back; it
 * is kept in the same place as the stores (files under a directory, or objects in the bucket of an
 * `s3://bucket/prefix` root), so a restarted service, or one on another node, restores what was
 * suspended.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStore, storeScheme } from '@nbferry/store';
import { FileRecords, ObjectRecords, type RecordStore } from './record-store.js';

export interface SuspendedSession {
  /** The notebook's path on the server (null: a kernel without a notebook session). */
  path: string | null;
  kernelId: string;
  kernelName: string;
  storeDir: string;
  checkpointDir: string;
  checkpointId: string;
  totalBytes: number;
}

export interface SuspendRecord {
  user: string;
  serverName: string;
  suspendedAt: string;
  /** The server's spawner options (its profile), to say what it ran with. */
  userOptions: Record<string, unknown>;
  sessions: SuspendedSession[];
  /** Restores tried on return that could not restore every notebook. */
  restoreAttempts?: number;
}

export class UserStores {
  /** The root is an object store (`s3://...`): stores and records live in its bucket. */
  readonly remote: boolean;
  private readonly records: RecordStore;

  constructor(readonly root: string) {
    const scheme = storeScheme(root);
    this.remote = scheme !== undefined && scheme !== 'file';
    // A file:// root is a directory like a path.
    if (scheme === 'file') this.root = fileURLToPath(root);
    this.records = this.remote ? new ObjectRecords(root.replace(/\/+$/, '')) : new FileRecords(this.root);
  }

  /** The user's part of the root (a directory, or a key prefix in the bucket). */
  userDir(user: string): string {
    // Prefixed and encoded: no user name ('..', 'a/b') can point outside the root.
    return this.under(userPart(user));
  }

  /** The store of a notebook (or of a kernel without one): a directory, or an `s3://` URL. */
  storeDir(user: string, target: { path: string | null; kernelId: string }): string {
    return this.under(`${userPart(user)}/${target.path !== null ? `notebook-${encodeURIComponent(target.path)}` : `kernel-${encodeURIComponent(target.kernelId)}`}`);
  }

  async writeRecord(record: SuspendRecord): Promise<void> {
    await this.records.write(recordName(record.user, record.serverName), JSON.stringify(record, null, 2));
  }

  async readRecord(user: string, serverName: string): Promise<SuspendRecord | undefined> {
    const text = await this.records.read(recordName(user, serverName));
    return text === undefined ? undefined : (JSON.parse(text) as SuspendRecord);
  }

  async removeRecord(user: string, serverName: string): Promise<void> {
    await this.records.remove(recordName(user, serverName));
  }

  /**
   * Refuses a root the service cannot use, at start rather than at the first suspend: an unknown
   * URL scheme, a missing backend package, a bucket that does not exist or refuses the credentials.
   */
  async check(): Promise<void> {
    if (!this.remote) return;
    const store = await openStore(this.root);
    try {
      await store.list();
    } finally {
      store.close?.();
    }
  }

  /** Frees the object store's connections. */
  close(): void {
    this.records.close();
  }

  private under(relative: string): string {
    return this.remote ? `${this.root.replace(/\/+$/, '')}/${relative}` : join(this.root, relative);
  }
}

function userPart(user: string): string {
  return `user-${encodeURIComponent(user)}`;
}

function recordName(user: string, serverName: string): string {
  return `${userPart(user)}/suspended-${serverName === '' ? 'default' : `named-${encodeURIComponent(serverName)}`}.json`;
}
