// Store format 2 on real kernels: blobs are stored as content-addressed 8 MiB chunks, so bytes
// already in the store (from another kernel, or an earlier checkpoint) are never written again.
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { launchKernel, type Kernel } from '@nbferry/kernel';
import { checkpoint, checkpointWith, restore, type SavedBlob } from '@nbferry/migrate';
import { Recorder } from '@nbferry/recorder';
import { LocalStore, MANIFEST_FILE, decodeManifest, encodeManifest } from '@nbferry/store';
import { testPython } from './support/python.js';
import { useKernelSandbox } from './support/kernel-sandbox.js';

const MiB = 1024 * 1024;

/** Every chunk file in a store: count and bytes. */
async function chunkFiles(root: string): Promise<{ count: number; bytes: number; names: Set<string> }> {
  const names = new Set<string>();
  let bytes = 0;
  const top = join(root, 'chunks');
  for (const sub of await readdir(top)) {
    for (const name of await readdir(join(top, sub))) {
      if (name.startsWith('.')) continue;
      names.add(name);
      bytes += (await stat(join(top, sub, name))).size;
    }
  }
  return { count: names.size, bytes, names };
}

describe('content-addressed store (format 2)', () => {
  const sandbox = useKernelSandbox('nbf-cas-');
  const kernel = sandbox.kernel;
  let dir: string;
  beforeEach(() => {
    dir = sandbox.dir();
  });

  it('two kernels writing the same data to one store write its bytes once, and both restore verified', async () => {
    const store = new LocalStore(join(dir, 'store'));
    // 40 MB of the same random data in each kernel, defined before recording: it must be saved.
    const setup = 'import numpy as np\nshared = np.random.default_rng(7).random(5_000_000)\nown = np.random.default_rng(__import__("os").getpid()).random(1000)';
    const saved = [];
    for (let i = 0; i < 2; i++) {
      const source = await kernel();
      await source.client.execute(setup, { silent: true });
      saved.push(await checkpoint(await Recorder.attach(source.client), store));
    }
    const [first, second] = saved.map((s) => s.checkpoint.manifest);
    expect(first!.version).toBe(3);
    const sharedBlob = (m: typeof first) => m!.blobs.find((b) => b.variables.includes('shared'))!;
    expect(sharedBlob(first).chunks).toEqual(sharedBlob(second).chunks);
    expect(sharedBlob(first).bytes).toBeGreaterThan(40e6);
    // The second kernel found every chunk of `shared` already stored: it wrote only its own small data.
    expect(first!.stats!.newBytes).toBeGreaterThan(40e6);
    expect(second!.stats!.newBytes).toBeLessThan(1 * MiB);
    const files = await chunkFiles(store.root);
    expect(files.bytes).toBeLessThan(first!.stats!.totalBytes + 2 * MiB);
    for (const s of saved) {
      for (const blob of s.checkpoint.manifest.blobs) expect(await s.checkpoint.blobProblem(blob)).toBeUndefined();
      const target = await kernel();
      const report = await restore(await store.open(s.checkpoint.manifest.id), target.client);
      expect(report.verification.ok).toBe(true);
      expect(report.verification.totals.restored).toBeGreaterThanOrEqual(2);
    }
  });

  it('reads a format 1 store (one blob file per group): restore and blob checks work', async () => {
    const root = join(dir, 'v1');
    const source = await kernel();
    await source.client.execute('import numpy as np\nold = np.random.default_rng(5).random(2_000_000)\nnote = "v1"', { silent: true });
    const recorder = await Recorder.attach(source.client);
    // Blob files in the checkpoint directory as format 1 wrote them, then the manifest rewritten as version 1.
    const saved = await checkpointWith(recorder, new LocalStore(root), async (groups, blobsDir, call, guard) =>
      (await recorder.request<{ blobs: SavedBlob[] }>('save', { groups, dir: blobsDir, ...guard }, call)).result.blobs,
    );
    const path = join(saved.checkpoint.dir, MANIFEST_FILE);
    const { parent: _parent, stats: _stats, ...rest } = decodeManifest(await readFile(path), path);
    await writeFile(path, encodeManifest({ ...rest, version: 1 }));
    expect(existsSync(join(root, 'chunks')) ? await readdir(join(root, 'chunks')) : []).toEqual([]);
    const v1 = await new LocalStore(root).open();
    expect(v1.manifest.version).toBe(1);
    for (const blob of v1.manifest.blobs) {
      expect(blob.chunks).toBeUndefined();
      expect(await v1.blobProblem(blob)).toBeUndefined();
    }
    const target = await kernel();
    const report = await restore(root, target.client);
    expect(report.verification.ok).toBe(true);
    expect(report.verification.variables.find((v) => v.name === 'old')?.outcome).toBe('restored');
  });

  it('a changed slice of a 500 MB array writes about one chunk', async () => {
    const store = new LocalStore(join(dir, 'store'));
    const source = await kernel();
    await source.client.execute('import numpy as np\nbig = np.random.default_rng(1).random(62_500_000)', { silent: true });
    const recorder = await Recorder.attach(source.client);
    const first = await checkpoint(recorder, store);
    const before = await chunkFiles(store.root);
    expect(first.checkpoint.manifest.stats!.newBytes).toBeGreaterThan(499e6);
    const result = await source.client.execute('big[10_000_000:10_001_000] = 0.5');
    expect(result.status).toBe('ok');
    const second = await checkpoint(recorder, store);
    const after = await chunkFiles(store.root);
    const newChunks = [...after.names].filter((n) => !before.names.has(n));
    // One 8 MiB chunk holds the changed slice; the pickle's small head chunk may change too.
    expect(newChunks.length).toBeLessThanOrEqual(2);
    expect(newChunks.length).toBeGreaterThanOrEqual(1);
    expect(second.checkpoint.manifest.stats!.newBytes).toBeLessThanOrEqual(2 * 8 * MiB);
    expect(after.bytes - before.bytes).toBeLessThanOrEqual(2 * 8 * MiB);
    const blob = second.checkpoint.manifest.blobs.find((b) => b.variables.includes('big'))!;
    expect(blob.chunks!.length).toBeGreaterThanOrEqual(60);
    expect(second.checkpoint.manifest.parent).toBe(first.checkpoint.manifest.id);
    expect(await second.checkpoint.blobProblem(blob)).toBeUndefined();
  }, 300_000);
});

describe('incremental checkpoints', () => {
  let dir: string;
  const kernels: Kernel[] = [];
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nbf-incr-'));
  });
  afterEach(async () => {
    for (const kernel of kernels.splice(0)) await kernel.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('after a cell changes a 1 MB variable next to a 200 MB array, writes about 1 MB and reuses the array blob; every variable restores verified', async () => {
    const store = new LocalStore(join(dir, 'store'));
    const source = await launchKernel({ python: testPython(), cwd: dir });
    kernels.push(source);
    // Defined before recording (no cell can recompute them): both must be saved.
    await source.client.execute('import numpy as np\nbig = np.random.default_rng(3).random(25_000_000)\nsmall = np.random.default_rng(4).random(125_000)', { silent: true });
    const recorder = await Recorder.attach(source.client);
    const first = await checkpoint(recorder, store);
    expect(first.reused).toEqual([]);
    expect(first.checkpoint.manifest.stats!.newBytes).toBeGreaterThan(200e6);
    const changed = await source.client.execute('small *= 2\nlabel = "changed"');
    expect(changed.status).toBe('ok');
    const before = await chunkFiles(store.root);
    const second = await checkpoint(recorder, store);
    const after = await chunkFiles(store.root);
    const bigGroup = second.checkpoint.manifest.blobs.find((b) => b.variables.includes('big'))!;
    expect(second.reused).toContain(bigGroup.group);
    expect(second.reused).not.toContain(second.checkpoint.manifest.blobs.find((b) => b.variables.includes('small'))!.group);
    expect(bigGroup.chunks).toEqual(first.checkpoint.manifest.blobs.find((b) => b.variables.includes('big'))!.chunks);
    // ≈ 1 MB: the changed variable's blob (and whatever small blobs the new cell made), not the array.
    expect(second.checkpoint.manifest.stats!.newBytes).toBeGreaterThan(0.9e6);
    expect(second.checkpoint.manifest.stats!.newBytes).toBeLessThan(2 * MiB);
    expect(after.bytes - before.bytes).toBeLessThan(2 * MiB);
    expect(second.checkpoint.manifest.parent).toBe(first.checkpoint.manifest.id);

    // A change the array's group did see is never hidden by reuse.
    expect((await source.client.execute('big[0] = -1.0')).status).toBe('ok');
    const third = await checkpoint(recorder, store);
    const bigAgain = third.checkpoint.manifest.blobs.find((b) => b.variables.includes('big'))!;
    expect(third.reused).not.toContain(bigAgain.group);
    expect(third.reused).toContain(third.checkpoint.manifest.blobs.find((b) => b.variables.includes('small'))!.group);
    expect(third.checkpoint.manifest.stats!.newBytes).toBeLessThan(3 * 8 * MiB);

    for (const saved of [second, third]) {
      const target = await launchKernel({ python: testPython(), cwd: dir });
      kernels.push(target);
      const report = await restore(await store.open(saved.checkpoint.manifest.id), target.client);
      expect(report.verification.ok).toBe(true);
      expect(report.verification.variables.filter((v) => ['big', 'small'].includes(v.name)).map((v) => v.outcome)).toEqual(['restored', 'restored']);
      await target.dispose();
      kernels.pop();
    }
  }, 300_000);
});
