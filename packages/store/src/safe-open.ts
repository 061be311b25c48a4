/**
 * Opening a store file for reading without being led astray: no symlink is followed (O_NOFOLLOW),
 * a FIFO or device never blocks the open (O_NONBLOCK) and is refused by fstat before any read,
 * and a file larger than expected (a sparse 100 GB file) is refused before it is read.
 */
import { constants, type Stats } from 'node:fs';
import { lstat, open, type FileHandle } from 'node:fs/promises';
import { UnsafeStoreEntryError } from './errors.js';

const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** Opens `path` if it is a regular file (of `expectedBytes`, when given); else UnsafeStoreEntryError. */
export async function openRegularFile(path: string, expectedBytes?: number): Promise<FileHandle> {
  // Checked before opening (opening a device can have effects of its own), and again on the open
  // descriptor (the entry may have been swapped in between).
  checkEntry(path, await lstat(path), expectedBytes);
  let handle: FileHandle;
  try {
    handle = await open(path, READ_FLAGS);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOOP') throw new UnsafeStoreEntryError(path, 'it is a symbolic link');
    throw error;
  }
  try {
    checkEntry(path, await handle.stat(), expectedBytes);
    return handle;
  } catch (error) {
    await handle.close();
    throw error;
  }
}

function checkEntry(path: string, info: Stats, expectedBytes: number | undefined): void {
  if (info.isSymbolicLink()) throw new UnsafeStoreEntryError(path, 'it is a symbolic link');
  if (!info.isFile()) throw new UnsafeStoreEntryError(path, `it is ${kindOf(info)}, not a regular file`);
  if (expectedBytes !== undefined && info.size !== expectedBytes) {
    throw new UnsafeStoreEntryError(path, `it is ${info.size} bytes, the manifest says ${expectedBytes}`);
  }
}

/** Reads a whole small file (a manifest, LATEST, a signature) through openRegularFile, at most `limit` bytes. */
export async function readRegularFile(path: string, limit: number): Promise<Buffer> {
  const handle = await openRegularFile(path);
  try {
    const size = (await handle.stat()).size;
    if (size > limit) throw new UnsafeStoreEntryError(path, `it is ${size} bytes, more than the ${limit} such a file may have`);
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

function kindOf(info: { isFIFO(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSocket(): boolean; isDirectory(): boolean }): string {
  if (info.isFIFO()) return 'a FIFO';
  if (info.isCharacterDevice() || info.isBlockDevice()) return 'a device';
  if (info.isSocket()) return 'a socket';
  if (info.isDirectory()) return 'a directory';
  return 'not a regular file';
}
