// Store format 3 on real kernels: chunk boundaries follow a blob's content (each big out-of-band
// buffer chunked on its own, content-defined cuts between), so data that did not change keeps its
// chunk names even when something before it in the same blob changed length.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stagedCheckpointFiles } from '@nbferry/jupyter-server';
import { checkpoint, restore } from '@nbferry/migrate';
import { Recorder } from '@nbferry/recorder';
import { LocalStore } from '@nbferry/store';
import { useKernelSandbox } from './support/kernel-sandbox.js';

const MiB = 1024 * 1024;

describe('chunk boundaries follow content (format 3)', () => {
  const sandbox = useKernelSandbox('nbf-cuts-');
  const kernel = sandbox.kernel;

  it('an unchanged 80 MB array behind a small object that changed length, in the same group, writes no chunk of the array', async () => {
    const store = new LocalStore(join(sandbox.dir(), 'store'));
    const source = await kernel();
    // One variable: the pickle stream (holding `note`) comes before the array's out-of-band buffer.
    await source.client.execute('import numpy as np\nd = {"note": "short", "arr": np.random.default_rng(3).random(10_000_000)}', { silent: true });
    const recorder = await Recorder.attach(source.client);
    const first = await checkpoint(recorder, store);
    expect(first.checkpoint.manifest.version).toBe(3);
    const blobOf = (c: typeof first) => c.checkpoint.manifest.blobs.find((b) => b.variables.includes('d'))!;
    expect(blobOf(first).checksum).toMatch(/^sha256-chunks:/);
    expect(first.checkpoint.manifest.stats!.newBytes).toBeGreaterThan(80e6);
    // 1001 bytes longer: with fixed 8 MiB chunks from the blob's start, every chunk of the array would move.
    expect((await source.client.execute('d["note"] = "x" * 1005')).status).toBe('ok');
    const second = await checkpoint(recorder, store);
    const [before, after] = [blobOf(first), blobOf(second)];
    expect(after.bytes - before.bytes).toBeGreaterThanOrEqual(1000);
    const old = new Set(before.chunks);
    const fresh = after.chunks!.filter((c) => !old.has(c));
    expect(fresh.length).toBeGreaterThanOrEqual(1); // the pickle stream's chunk
    expect(second.checkpoint.manifest.stats!.newBytes).toBeLessThan(1 * MiB);
    expect(after.chunks!.length - fresh.length).toBeGreaterThanOrEqual(10); // the array's chunks, reused
    expect(await second.checkpoint.blobProblem(after)).toBeUndefined();
    const target = await kernel();
    const report = await restore(await store.open(second.checkpoint.manifest.id), target.client);
    expect(report.verification.ok).toBe(true);
    expect(report.verification.variables.find((v) => v.name === 'd')?.outcome).toBe('restored');
  }, 300_000);

  it("a frame with one column replaced writes about that column's bytes, not the frame's", async () => {
    const store = new LocalStore(join(sandbox.dir(), 'store'));
    const source = await kernel();
    // Four dtypes, so four blocks of 16, 16, 8 and 8 MB, and a text column of 5000 distinct values (pickled
    // out of band by content: the values once, 4 MB of u16 codes); defined before recording, so it must be saved.
    const setup = [
      'import numpy as np, pandas as pd',
      'rng = np.random.default_rng(4)',
      'n = 2_000_000',
      'df = pd.DataFrame({"a": rng.random(n), "b": rng.integers(0, 1 << 40, n), "c": rng.random(n).astype("float32"), "d": rng.integers(0, 1000, n).astype("int32"), "s": [f"name {i % 5000}" for i in range(n)]})',
    ].join('\n');
    await source.client.execute(setup, { silent: true });
    const recorder = await Recorder.attach(source.client);
    const first = await checkpoint(recorder, store);
    const frameBytes = first.checkpoint.manifest.blobs.find((b) => b.variables.includes('df'))!.bytes;
    expect(frameBytes).toBeGreaterThan(52e6);
    expect((await source.client.execute('df["b"] = df["b"] + 1')).status).toBe('ok');
    const second = await checkpoint(recorder, store);
    const newBytes = second.checkpoint.manifest.stats!.newBytes;
    // Column b is 16 MB; the rest of the frame (32 MB of blocks, the text, the pickle stream) is not written again.
    expect(newBytes).toBeGreaterThan(15e6);
    expect(newBytes).toBeLessThan(16e6 + 2 * MiB);
    const target = await kernel();
    const report = await restore(await store.open(second.checkpoint.manifest.id), target.client);
    expect(report.verification.ok).toBe(true);
    expect(report.verification.variables.find((v) => v.name === 'df')?.outcome).toBe('restored');
  }, 300_000);

  it('restores a format 3 checkpoint through the staged (websocket) path: the kernel checks sha256-chunks at the listed sizes', async () => {
    const store = new LocalStore(join(sandbox.dir(), 'store'));
    const source = await kernel();
    await source.client.execute('import numpy as np, pandas as pd\nt = pd.DataFrame({"k": [f"key {i % 700}" for i in range(300_000)], "v": np.arange(300_000.0)})\nbig = np.random.default_rng(5).random(3_000_000)', { silent: true });
    const saved = await checkpoint(await Recorder.attach(source.client), store);
    expect(saved.checkpoint.manifest.blobs.every((b) => b.chunkBytes && b.checksum.startsWith('sha256-chunks:'))).toBe(true);
    const target = await kernel();
    // 1 MiB messages: pieces never line up with the blob's chunks, so the kernel must re-cut at chunkBytes.
    const report = await restore(saved.checkpoint, target.client, { blobSource: stagedCheckpointFiles(saved.checkpoint, { chunkBytes: MiB }) });
    expect(report.verification.ok).toBe(true);
    expect(report.verification.variables.filter((v) => ['t', 'big'].includes(v.name)).map((v) => v.outcome)).toEqual(['restored', 'restored']);
  }, 300_000);
});
