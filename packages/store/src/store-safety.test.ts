// A store cannot be escaped or made to hang a reader: names, symlinks, FIFOs, devices, sparse files.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CorruptCheckpointError, UnsafeStoreEntryError } from './errors.js';
import { LocalStore, openCheckpoint } from './local-store.js';
import { MANIFEST_FILE, decodeManifest, encodeManifest } from './manifest.js';

const env = { python: '3.11.7', platform: 'linux-x86_64', packages: {} };

async function commit(store: LocalStore, n: number) {
  const draft = await store.begin();
  const data = Buffer.alloc(1000, n);
  await writeFile(join(draft.blobsDir, 'a.nbf'), data);
  const checksum = `sha256:${createHash('sha256').update(data).digest('hex')}`;
  return draft.commit({ environment: env, blobs: [{ file: 'a.nbf', bytes: data.length, checksum, group: 'g', variables: ['a'] }], body: { n } });
}

function mkfifo(path: string): void {
  const made = spawnSync('mkfifo', [path]);
  if (made.status !== 0) throw new Error(`mkfifo failed: ${made.stderr}`);
}

describe('a store cannot be escaped', () => {
  let root: string;
  let outside: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'nbf-safe-'));
    outside = await mkdtemp(join(tmpdir(), 'nbf-outside-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  });

  it('refuses a LATEST or a checkpoint id that leads out of the store', async () => {
    const store = new LocalStore(root);
    await commit(store, 1);
    // A real checkpoint outside the store that `..` would reach.
    const elsewhere = await commit(new LocalStore(outside), 9);
    const relative = join('..', '..', outside.split('/').pop()!, 'checkpoints', elsewhere.manifest.id);
    for (const latest of [relative, elsewhere.dir, 'a/b', '..']) {
      await writeFile(join(root, 'LATEST'), `${latest}\n`);
      await expect(openCheckpoint(root)).rejects.toBeInstanceOf(UnsafeStoreEntryError);
    }
    await expect(store.open(relative)).rejects.toBeInstanceOf(UnsafeStoreEntryError);
    await expect(store.open(elsewhere.dir)).rejects.toBeInstanceOf(UnsafeStoreEntryError);
  });

  it('refuses a manifest naming a blob outside the checkpoint, even with a valid digest', async () => {
    const saved = await commit(new LocalStore(root), 1);
    const path = join(saved.dir, MANIFEST_FILE);
    const manifest = decodeManifest(await readFile(path), path);
    for (const file of ['../../LATEST', '/etc/passwd', 'blobs/../x', '.hidden', '']) {
      await writeFile(path, encodeManifest({ ...manifest, blobs: [{ ...manifest.blobs[0]!, file }] }));
      await expect(openCheckpoint(saved.dir)).rejects.toThrow(/unsafe file name/);
    }
  });

  it('follows no symlink out of the store: checkpoint dir, blobs dir, LATEST, manifest, blob, staging', async () => {
    const store = new LocalStore(root);
    const saved = await commit(store, 1);
    const id = saved.manifest.id;
    const foreign = await commit(new LocalStore(outside), 2);

    // checkpoints/<id> replaced by a link to a checkpoint elsewhere.
    await rename(saved.dir, join(root, 'moved'));
    await symlink(foreign.dir, saved.dir);
    await expect(store.open(id)).rejects.toBeInstanceOf(UnsafeStoreEntryError);
    await rm(saved.dir);
    await rename(join(root, 'moved'), saved.dir);
    expect((await store.open(id)).manifest.id).toBe(id);

    // blobs/ replaced by a link.
    await rename(saved.blobsDir, join(root, 'blobs-moved'));
    await symlink(foreign.blobsDir, saved.blobsDir);
    await expect(store.open(id)).rejects.toBeInstanceOf(UnsafeStoreEntryError);
    await rm(saved.blobsDir);
    await rename(join(root, 'blobs-moved'), saved.blobsDir);

    // The blob itself replaced by a link: verification refuses it without reading through it.
    const blob = saved.manifest.blobs[0]!;
    const reopened = await store.open(id);
    await rm(reopened.blobPath(blob));
    await symlink(foreign.blobPath(foreign.manifest.blobs[0]!), reopened.blobPath(blob));
    expect(await reopened.blobProblem(blob)).toMatch(/symbolic link/);

    // LATEST and the manifest as links.
    await rm(join(root, 'LATEST'));
    await symlink(join(outside, 'LATEST'), join(root, 'LATEST'));
    await expect(store.latestId()).rejects.toBeInstanceOf(UnsafeStoreEntryError);
    await rm(join(root, 'LATEST'));
    await rename(join(saved.dir, MANIFEST_FILE), join(root, 'm'));
    await symlink(join(foreign.dir, MANIFEST_FILE), join(saved.dir, MANIFEST_FILE));
    await expect(store.open(id)).rejects.toBeInstanceOf(UnsafeStoreEntryError);

    // A planted .staging link would send the kernel's writes elsewhere: refused on write.
    await rm(join(root, '.staging'), { recursive: true, force: true });
    await symlink(outside, join(root, '.staging'));
    const before = await readdir(outside);
    await expect(store.begin()).rejects.toBeInstanceOf(UnsafeStoreEntryError);
    expect(await readdir(outside)).toEqual(before); // nothing was created through the link
  });

  it('refuses blob names from a writer that would escape the draft', async () => {
    const store = new LocalStore(root);
    const draft = await store.begin();
    await writeFile(join(outside, 'x.nbf'), 'x');
    const error = await draft
      .commit({ environment: env, blobs: [{ file: `../../../${outside.split('/').pop()}/x.nbf`, bytes: 1, checksum: `sha256:${'0'.repeat(64)}`, group: 'g', variables: [] }], body: {} })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnsafeStoreEntryError);
    expect(await store.list()).toEqual([]);
  });

  it('rejects a FIFO, a device and a sparse oversized file before reading them (no hang)', async () => {
    const store = new LocalStore(root);
    const saved = await commit(store, 1);
    const blob = saved.manifest.blobs[0]!;
    const path = saved.blobPath(blob);

    await rm(path);
    mkfifo(path); // reading it would block forever: no writer ever comes
    expect(await saved.blobProblem(blob)).toMatch(/a FIFO, not a regular file/);

    await rm(path);
    await symlink('/dev/zero', path);
    expect(await saved.blobProblem(blob)).toMatch(/symbolic link/);

    await rm(path);
    await writeFile(path, '');
    await truncate(path, 100 * 1024 ** 3); // 100 GiB, sparse
    expect(await saved.blobProblem(blob)).toMatch(/107374182400 bytes, the manifest says 1000/);
    expect(await saved.verifyBlob(blob)).toBe(false);

    // The store's own small files: LATEST and the manifest as FIFOs are refused, not waited on.
    await rm(join(root, 'LATEST'));
    mkfifo(join(root, 'LATEST'));
    await expect(store.latestId()).rejects.toThrow(/FIFO/);
    await rm(join(root, 'LATEST'));
    await rm(join(saved.dir, MANIFEST_FILE));
    mkfifo(join(saved.dir, MANIFEST_FILE));
    await expect(openCheckpoint(saved.dir)).rejects.toThrow(/FIFO/);
  });

  it('refuses a device node as a blob when this process may create one', async () => {
    const saved = await commit(new LocalStore(root), 1);
    const blob = saved.manifest.blobs[0]!;
    await rm(saved.blobPath(blob));
    const made = spawnSync('mknod', [saved.blobPath(blob), 'c', '1', '5']); // /dev/zero's numbers
    if (made.status !== 0) return void console.warn(`mknod not permitted here: ${made.stderr}`);
    expect(await saved.blobProblem(blob)).toMatch(/a device, not a regular file/);
  });

  it('a checkpoint directory with no manifest is not found; one with a garbage manifest is corrupt', async () => {
    const dir = join(root, 'x');
    await mkdir(dir);
    await writeFile(join(dir, MANIFEST_FILE), 'garbage');
    await expect(openCheckpoint(dir)).rejects.toBeInstanceOf(CorruptCheckpointError);
  });
});
