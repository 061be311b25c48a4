/**
 * Where a user's checkpoints go: one store per user and notebook path, under a configured root, so
 * a notebook's history continues across suspends, returns and moves between the user's servers.
 * Beside them, the record of what was suspended (per server), read when the server comes back;
 * it is a file so a restarted service still restores what it suspended.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

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
  constructor(readonly root: string) {}

  userDir(user: string): string {
    // Prefixed and encoded: no user name ('..', 'a/b') can point outside the root.
    return join(this.root, `user-${encodeURIComponent(user)}`);
  }

  /** The store of a notebook (or of a kernel without one). */
  storeDir(user: string, target: { path: string | null; kernelId: string }): string {
    return join(this.userDir(user), target.path !== null ? `notebook-${encodeURIComponent(target.path)}` : `kernel-${encodeURIComponent(target.kernelId)}`);
  }

  private recordFile(user: string, serverName: string): string {
    return join(this.userDir(user), `suspended-${serverName === '' ? 'default' : `named-${encodeURIComponent(serverName)}`}.json`);
  }

  async writeRecord(record: SuspendRecord): Promise<void> {
    const file = this.recordFile(record.user, record.serverName);
    await mkdir(this.userDir(record.user), { recursive: true });
    await writeFile(`${file}.tmp`, JSON.stringify(record, null, 2), { mode: 0o600 });
    await rename(`${file}.tmp`, file);
  }

  async readRecord(user: string, serverName: string): Promise<SuspendRecord | undefined> {
    const text = await readFile(this.recordFile(user, serverName), 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    return text === undefined ? undefined : (JSON.parse(text) as SuspendRecord);
  }

  async removeRecord(user: string, serverName: string): Promise<void> {
    await rm(this.recordFile(user, serverName), { force: true });
  }
}
