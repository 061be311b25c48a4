import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CheckpointNotFoundError, CheckpointWriteError, CorruptCheckpointError, UnsupportedCheckpointVersionError } from './errors.js';
import { LocalStore, openCheckpoint, type CheckpointDraft } from './local-store.js';
import { packMsgpack } from '@nbferry/protocol';
import { MANIFEST_FILE, decodeManifest } from './manifest.js';

/** Bytes followed by their SHA-256, as a manifest file ends. */
function withDigest(bytes: Buffer): Buffer {
  return Buffer.concat([bytes, createHash('sha256').update(bytes).digest()]);
}

function manifestOf(file: Buffer): object {
  return decodeManifest(file, 'test');
}

const env = { python: '3.11.7', platform: 'linux-x86_64', packages: { numpy: '2.4.6' } };

async function addBlob(draft: CheckpointDraft, file: string, data: Buffer) {
  await writeFile(join(draft.blobsDir, file), data);
  return { file, bytes: data.length, checksum: `sha256:${createHash('sha256').update(data).digest('hex')}`, group: file, variables: [file] };
}

async function writeCheckpoint(store: LocalStore, n: number, size = 1024) {
  const draft = await store.begin();
  const blob = await addBlob(draft, 'a.bin', Buffer.alloc(size, n));
  return draft.commit({ environment: env, blobs: [blob], body: { n } });
}

describe('LocalStore', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'nbf-store-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('commits, lists and opens checkpoints; the store path opens the latest', async () => {
    const first = await writeCheckpoint(new LocalStore(root), 1);
    const second = await writeCheckpoint(new LocalStore(root), 2);
    const store = new LocalStore(root);
    expect(await store.list()).toEqual([first.manifest.id, second.manifest.id].sort());
    const latest = await openCheckpoint<{ n: number }>(root);
    expect(latest.manifest.body.n).toBe(2);
    expect(latest.manifest.environment).toEqual(env);
    expect((await openCheckpoint<{ n: number }>(first.dir)).manifest.body.n).toBe(1);
    expect(await latest.verifyBlob(latest.manifest.blobs[0]!)).toBe(true);
    expect(existsSync(join(root, '.staging', second.manifest.id))).toBe(false);
  });

  it('detects a tampered blob through its checksum', async () => {
    const checkpoint = await writeCheckpoint(new LocalStore(root), 7);
    const blob = checkpoint.manifest.blobs[0]!;
    const bytes = await readFile(checkpoint.blobPath(blob));
    bytes[10] ^= 1;
    await writeFile(checkpoint.blobPath(blob), bytes);
    expect(await checkpoint.verifyBlob(blob)).toBe(false);
  });

  it('refuses a tampered, truncated, foreign or future-version manifest with typed errors', async () => {
    const checkpoint = await writeCheckpoint(new LocalStore(root), 3);
    const path = join(checkpoint.dir, MANIFEST_FILE);
    const good = await readFile(path);
    const cases: [Buffer, unknown][] = [
      [Buffer.concat([good.subarray(0, 20), Buffer.from([good[20]! ^ 0xff]), good.subarray(21)]), CorruptCheckpointError],
      [good.subarray(0, good.length - 5), CorruptCheckpointError],
      [Buffer.from('{"format": "something else"}'), CorruptCheckpointError],
      // A damaged version byte is damage (the digest fails first), not a reason to upgrade nbferry.
      [Buffer.concat([good.subarray(0, 8), Buffer.from([0, 0, 0, 99]), good.subarray(12)]), CorruptCheckpointError],
      // A real future version (digest intact) asks for an upgrade.
      [withDigest(Buffer.concat([good.subarray(0, 8), Buffer.from([0, 0, 0, 99]), good.subarray(12, good.length - 32)])), UnsupportedCheckpointVersionError],
      // Digest intact, fields missing or mistyped: typed, never a TypeError.
      [withDigest(Buffer.concat([good.subarray(0, 12), packMsgpack({ format: 'nbferry-checkpoint', version: 1 })])), CorruptCheckpointError],
      [withDigest(Buffer.concat([good.subarray(0, 12), packMsgpack({ ...manifestOf(good), blobs: [{ file: 'a.bin' }] })])), CorruptCheckpointError],
      [withDigest(Buffer.concat([good.subarray(0, 12), packMsgpack({ ...manifestOf(good), environment: null })])), CorruptCheckpointError],
    ];
    for (const [bytes, type] of cases) {
      await writeFile(path, bytes);
      await expect(openCheckpoint(checkpoint.dir)).rejects.toBeInstanceOf(type);
    }
    await expect(openCheckpoint(join(root, 'nowhere'))).rejects.toBeInstanceOf(CheckpointNotFoundError);
  });

  it('discards a draft whose blob is shorter than reported, keeping the previous checkpoint', async () => {
    const store = new LocalStore(root);
    await writeCheckpoint(store, 1);
    const draft = await store.begin();
    const blob = await addBlob(draft, 'a.bin', Buffer.alloc(100));
    await expect(draft.commit({ environment: env, blobs: [{ ...blob, bytes: 200 }], body: { n: 2 } })).rejects.toBeInstanceOf(
      CheckpointWriteError,
    );
    expect(existsSync(draft.dir)).toBe(false);
    expect((await openCheckpoint<{ n: number }>(root)).manifest.body.n).toBe(1);
  });

  it('never exposes a partial checkpoint when the writer is killed at any moment', async () => {
    const fixture = fileURLToPath(new URL('./crash-writer.fixture.ts', import.meta.url));
    let killsAfterCommits = 0;
    for (const delayMs of [400, 650, 900, 1150, 1400]) {
      // One process (tsx as a loader, not its launcher), so SIGKILL hits the writer itself.
      const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', fixture, root], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      let committed = 0;
      child.stdout.on('data', (chunk: Buffer) => {
        const lines = chunk.toString().trim().split('\n');
        committed = Number(lines.at(-1));
      });
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      child.kill('SIGKILL');
      expect(await exited).toBeNull(); // killed, not crashed on its own
      const store = new LocalStore(root);
      const ids = await store.list();
      if (ids.length === 0) continue; // killed before the first commit: nothing to read, nothing wrong
      killsAfterCommits += 1;
      const latest = await store.open<{ n: number }>();
      // Whatever we open is whole: every blob verifies and belongs to the same checkpoint.
      for (const blob of latest.manifest.blobs) {
        expect(await latest.verifyBlob(blob)).toBe(true);
        expect((await readFile(latest.blobPath(blob)))[0]).toBe(latest.manifest.body.n % 256);
      }
      expect(latest.manifest.body.n).toBeGreaterThanOrEqual(committed);
      for (const id of ids) await expect(store.open(id)).resolves.toBeDefined();
      await store.prune(2);
      expect(await readdir(join(root, '.staging')).catch(() => [])).toEqual([]); // the killed writer's staging is gone
    }
    expect(killsAfterCommits).toBeGreaterThan(0);
  });

  const canMount = process.getuid?.() === 0 && spawnSync('mount', ['--version']).status === 0;
  it.skipIf(!canMount)('reports a full disk as CheckpointWriteError and keeps the previous checkpoint', async () => {
    const mountPoint = join(root, 'tiny');
    await mkdir(mountPoint);
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mountPoint]);
    if (mounted.status !== 0) return void console.warn(`tmpfs mount refused: ${mounted.stderr}`);
    try {
      const store = new LocalStore(mountPoint);
      await writeCheckpoint(store, 1, 64 * 1024);
      const draft = await store.begin();
      const blob = await addBlob(draft, 'big.bin', Buffer.alloc(700 * 1024, 2));
      const error = await draft.commit({ environment: env, blobs: [blob], body: { padding: 'x'.repeat(400 * 1024) } }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CheckpointWriteError);
      expect((error as Error).message).toMatch(/disk is full/);
      expect(await readdir(join(mountPoint, '.staging'))).toEqual([]);
      const previous = await openCheckpoint<{ n: number }>(mountPoint);
      expect(previous.manifest.body.n).toBe(1);
      expect(await previous.verifyBlob(previous.manifest.blobs[0]!)).toBe(true);
    } finally {
      spawnSync('umount', [mountPoint]);
    }
  });
});
