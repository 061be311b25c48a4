// gc and format 2 chunks without a kernel: chunks written here the way the shim writes them.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chunkPath } from './chunks.js';
import { HASH_CHUNK_BYTES } from './checksum.js';
import { CorruptCheckpointError } from './errors.js';
import { gc } from './gc.js';
import { acquireGcLease, GcBusyError, StoreBusyError } from './gc-lease.js';
import { LocalStore, type CheckpointDraft } from './local-store.js';
import { MANIFEST_FILE, decodeManifest, encodeManifest, type BlobEntry } from './manifest.js';

const env = { python: '3.11.7', platform: 'linux-x86_64', packages: {} };

/** Stores `data` as chunks (as cas.py does) and returns its format 2 blob entry. */
async function addChunked(draft: CheckpointDraft, name: string, data: Buffer): Promise<BlobEntry> {
  const digests: string[] = [];
  for (let at = 0; at < Math.max(1, data.length); at += HASH_CHUNK_BYTES) {
    const piece = data.subarray(at, at + HASH_CHUNK_BYTES);
    const digest = createHash('sha256').update(piece).digest('hex');
    await mkdir(join(draft.chunksDir, digest.slice(0, 2)), { recursive: true });
    await writeFile(chunkPath(draft.chunksDir, digest), piece);
    digests.push(digest);
  }
  const sum = createHash('sha256');
  for (const d of digests) sum.update(Buffer.from(d, 'hex'));
  return { file: `${name}.nbf`, bytes: data.length, checksum: `sha256-8m:${sum.digest('hex')}`, group: name, variables: [name], chunks: digests };
}

async function chunkNames(root: string): Promise<string[]> {
  const top = join(root, 'chunks');
  const subs = await readdir(top).catch(() => [] as string[]);
  return (await Promise.all(subs.map((s) => readdir(join(top, s))))).flat().sort();
}

describe('format 2 store and gc', () => {
  let root: string;
  let store: LocalStore;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'nbf-gc-'));
    store = new LocalStore(root);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function commit(blobs: Record<string, Buffer>, n: number) {
    const draft = await store.begin();
    const entries = [];
    for (const [name, data] of Object.entries(blobs)) entries.push(await addChunked(draft, name, data));
    return draft.commit({ environment: env, blobs: entries, body: { n }, stats: { newBytes: 0, totalBytes: 0 } });
  }

  it('verifies chunked blobs and refuses a chunk list the checksum does not commit to', async () => {
    const big = Buffer.alloc(HASH_CHUNK_BYTES + 10, 7);
    const saved = await commit({ a: big }, 1);
    expect(saved.manifest.version).toBe(3);
    const blob = saved.manifest.blobs[0]!;
    expect(blob.chunks).toHaveLength(2);
    expect(await saved.blobProblem(blob)).toBeUndefined();
    expect(() => saved.blobPath(blob)).toThrow(/2 chunks/);
    const last = saved.blobFiles(blob)[1]!;
    await writeFile(last, Buffer.alloc(10, 8));
    expect(await saved.blobProblem(blob)).toMatch(/does not match its name/);
    // Swapping a chunk name in the manifest (digest recomputed) no longer adds up to its checksum.
    const path = join(saved.dir, MANIFEST_FILE);
    const manifest = decodeManifest(await readFile(path), path);
    manifest.blobs[0]!.chunks = [blob.chunks![1]!, blob.chunks![0]!];
    await writeFile(path, encodeManifest(manifest));
    await expect(store.open(saved.manifest.id)).rejects.toThrow(CorruptCheckpointError);
  });

  it('deletes checkpoints beyond the retention (never LATEST) and only chunks no kept checkpoint references', async () => {
    const shared = Buffer.alloc(1000, 1);
    const ids = [];
    for (let n = 1; n <= 4; n++) ids.push((await commit({ shared, own: Buffer.alloc(1000 + n, n) }, n)).manifest.id);
    expect(await chunkNames(root)).toHaveLength(5); // one shared chunk + one per checkpoint
    await writeFile(join(root, 'chunks', (await readdir(join(root, 'chunks')))[0]!, '.tmp-crashed'), 'partial');
    const result = await gc(store, { keep: 2 });
    expect(result).toMatchObject({ deletedCheckpoints: ids.slice(0, 2), swept: true, deletedChunks: 2 });
    expect(await store.list()).toEqual(ids.slice(2));
    expect(await chunkNames(root)).toHaveLength(3);
    for (const id of ids.slice(2)) {
      const kept = await store.open(id);
      for (const blob of kept.manifest.blobs) expect(await kept.blobProblem(blob)).toBeUndefined();
    }
    // keepWithin 0 keeps nothing by age, but LATEST stays.
    const later = await gc(store, { keepWithin: 0 });
    expect(later.deletedCheckpoints).toEqual([ids[2]]);
    expect(await store.list()).toEqual([ids[3]]);
    expect(await chunkNames(root)).toHaveLength(2);
    await expect(gc(store, { keep: -1 })).rejects.toThrow(/non-negative/);
  });

  it('never sweeps while a writer is in flight, and a writer waits while gc runs', async () => {
    await commit({ a: Buffer.alloc(100, 1) }, 1);
    // A writer in flight has stored a chunk no committed manifest references yet.
    const draft = await store.begin();
    const pending = await addChunked(draft, 'b', Buffer.alloc(100, 2));
    const busy = await gc(store, { waitForWritersMs: 100 });
    expect(busy).toMatchObject({ swept: false, deletedChunks: 0 });
    expect(existsSync(chunkPath(draft.chunksDir, pending.chunks![0]!))).toBe(true);
    const committed = await draft.commit({ environment: env, blobs: [pending], body: { n: 2 } });
    expect(await committed.blobProblem(pending)).toBeUndefined();

    // A gc holding the store: a new writer waits, then gives up with a typed error; gc after gc is refused.
    const release = await acquireGcLease(root);
    await expect(acquireGcLease(root)).rejects.toBeInstanceOf(GcBusyError);
    await expect(store.begin({ gcWaitMs: 150 })).rejects.toBeInstanceOf(StoreBusyError);
    const waiting = store.begin();
    await new Promise((resolve) => setTimeout(resolve, 100));
    await release();
    const started = await waiting;
    await started.abort();
    expect((await gc(store)).swept).toBe(true);
  });
});
