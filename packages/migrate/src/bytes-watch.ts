/**
 * Watches the bytes in a directory grow while the kernel writes blobs into it: the kernel writes
 * each group in one request, so polling the files' sizes is the only way to see a large one advance.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

export interface BytesWatch {
  /** Stops polling; resolves after any poll in flight. */
  stop(): Promise<void>;
}

export function watchDirBytes(dir: string, onBytes: (bytes: number) => void, intervalMs = 100): BytesWatch {
  let last = -1;
  let inFlight: Promise<void> | undefined;
  const poll = async () => {
    const bytes = await dirBytes(dir);
    if (bytes !== last) {
      last = bytes;
      onBytes(bytes);
    }
  };
  const timer = setInterval(() => {
    inFlight ??= poll().finally(() => (inFlight = undefined));
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await inFlight;
    },
  };
}

/** Total size of the regular files directly in `dir` (0 if it is gone); files vanishing meanwhile are skipped. */
export async function dirBytes(dir: string): Promise<number> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  const sizes = await Promise.all(names.map((name) => stat(join(dir, name)).then((s) => (s.isFile() ? s.size : 0), () => 0)));
  return sizes.reduce((sum, size) => sum + size, 0);
}
