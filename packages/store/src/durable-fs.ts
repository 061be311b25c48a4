/** File-system steps that survive a crash: write+fsync, atomic rename, directory fsync. */
import { randomUUID } from 'node:crypto';
import { open, rename } from 'node:fs/promises';

export async function writeFileDurable(path: string, data: Uint8Array | string): Promise<void> {
  const handle = await open(path, 'w', 0o600);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Makes a directory's entries (new files, renames) durable. */
export async function syncDir(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Replaces `path` with `data` atomically: readers see the old file or the new one, never a mix. */
export async function replaceFileAtomic(path: string, data: Uint8Array | string, dir: string): Promise<void> {
  // Unique per call: two commits in one process within a millisecond must not share a temp file.
  const temp = `${path}.tmp-${process.pid}-${randomUUID()}`;
  await writeFileDurable(temp, data);
  await rename(temp, path);
  await syncDir(dir);
}
