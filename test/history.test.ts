// History on real kernels: log, restoring any checkpoint by id, branches, crash recovery after
// SIGKILL (mid-cell and mid-checkpoint), and gc racing a writer.
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { checkpoint, log, renderLog, restore, type CheckpointResult } from '@nbferry/migrate';
import { Recorder } from '@nbferry/recorder';
import { gc, LocalStore } from '@nbferry/store';
import { runCell, useKernelSandbox, valueOf } from './support/kernel-sandbox.js';

describe('checkpoint history', () => {
  const sandbox = useKernelSandbox('nbf-history-');
  const kernel = sandbox.kernel;
  let dir: string;
  beforeEach(() => {
    dir = sandbox.dir();
  });

  it('logs every checkpoint, restores any of them by id, and shows a branch after restoring an old one', async () => {
    const store = new LocalStore(join(dir, 'store'));
    const source = await kernel();
    const recorder = await Recorder.attach(source.client);
    // Entropy: a rerun cannot bring it back, so every value is saved and must be loaded.
    const cells = ['import os\nx = int.from_bytes(os.urandom(6), "big")\nrows = [os.urandom(8).hex() for _ in range(1000)]', 'y = int.from_bytes(os.urandom(6), "big")', 'x = x + 1'];
    const saved: CheckpointResult[] = [];
    const expected: Record<string, string | undefined>[] = [];
    for (const code of cells) {
      await runCell(source.client, code);
      saved.push(await checkpoint(recorder, store));
      expected.push({ x: await valueOf(source.client, 'x'), y: await valueOf(source.client, 'y') });
    }
    const ids = saved.map((s) => s.checkpoint.manifest.id);
    expect(saved.map((s) => s.checkpoint.manifest.parent)).toEqual([undefined, ids[0], ids[1]]);

    // Restore the first checkpoint (not LATEST) into a fresh kernel, and work on from there.
    const branch = await kernel();
    const report = await restore(await store.open(ids[0]), branch.client);
    expect(report.verification.ok).toBe(true);
    expect(await valueOf(branch.client, 'x')).toBe(expected[0]!.x);
    expect(await valueOf(branch.client, 'y')).toBeUndefined();
    await runCell(branch.client, 'z = x * 2');
    const branched = await checkpoint(report.recorder, store);
    expect(branched.checkpoint.manifest.parent).toBe(ids[0]);

    const entries = await log(store);
    expect(entries.map((e) => e.id)).toEqual([...ids, branched.checkpoint.manifest.id]);
    const first = entries[0]!;
    expect(first.children.sort()).toEqual([ids[1], branched.checkpoint.manifest.id].sort());
    expect(first.variablesChanged).toEqual(['os', 'rows', 'x']);
    expect(entries[1]!.variablesChanged).toEqual(['y']);
    expect(entries[2]!).toMatchObject({ parent: ids[1], variablesChanged: ['x'], cell: 'x = x + 1' });
    expect(entries[3]!).toMatchObject({ parent: ids[0], variablesChanged: ['z'], cell: 'z = x * 2', latest: true });
    expect(entries[1]!.executionCount).toBe(2);
    expect(entries[1]!.newBytes).toBeGreaterThan(0);
    expect(entries[1]!.newBytes).toBeLessThan(entries[1]!.totalBytes); // `rows` was already stored
    expect(renderLog(entries)).toContain(`branches: `);

    // Every checkpoint restores verified, with the values it was taken with.
    for (const [i, id] of ids.entries()) {
      const target = await kernel();
      const back = await restore(await store.open(id), target.client);
      expect(back.verification.ok, id).toBe(true);
      expect(await valueOf(target.client, 'x')).toBe(expected[i]!.x);
      expect(await valueOf(target.client, 'y')).toBe(expected[i]!.y);
    }
  }, 240_000);

  it('after the kernel is SIGKILLed mid-cell or mid-checkpoint, the store restores the last checkpointed cell, verified', async () => {
    const store = new LocalStore(join(dir, 'store'));
    const source = await kernel();
    const recorder = await Recorder.attach(source.client);
    const pid = Number(await valueOf(source.client, '__import__("os").getpid()'));
    // A checkpoint after every cell, as auto-checkpoint does.
    for (const code of ['import numpy as np\nrng = np.random.default_rng()\nbig = rng.random(20_000_000)', 'small = rng.random(10)', 'total = float(big.sum()) + float(small.sum())']) {
      await runCell(source.client, code);
      await checkpoint(recorder, store);
    }
    const expectedTotal = await valueOf(source.client, 'total');
    const lastGood = await store.latestId();

    // Mid-checkpoint: a cell replaced `big` (160 MB to write); kill -9 while the kernel writes it.
    await runCell(source.client, 'big = rng.random(20_000_000)');
    let killed = false;
    const dying = checkpoint(recorder, store, {
      onProgress: (event) => {
        if (event.phase === 'save' && !killed) {
          killed = true;
          setTimeout(() => process.kill(pid, 'SIGKILL'), 50);
        }
      },
    });
    await expect(dying).rejects.toThrow();
    expect(killed).toBe(true);
    expect(await store.latestId()).toBe(lastGood);

    const target = await kernel();
    const report = await restore(store.root, target.client);
    expect(report.verification.ok).toBe(true);
    expect(report.verification.totals.restored).toBeGreaterThanOrEqual(3);
    expect(await valueOf(target.client, 'total')).toBe(expectedTotal);
    expect(await valueOf(target.client, 'float(big.sum()) + float(small.sum())')).toBe(expectedTotal);

    // Mid-cell: the restored kernel works on, checkpointing after each cell; killed inside a cell.
    const targetRecorder = report.recorder;
    const targetPid = Number(await valueOf(target.client, '__import__("os").getpid()'));
    await runCell(target.client, 'after = rng.random(5)');
    const before = await checkpoint(targetRecorder, store);
    const expectedAfter = await valueOf(target.client, 'after.tolist()');
    const cell = target.client.execute('import time\nafter = rng.random(5)\ntime.sleep(30)');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    process.kill(targetPid, 'SIGKILL');
    await cell.catch(() => {});
    expect(await store.latestId()).toBe(before.checkpoint.manifest.id);
    const again = await kernel();
    const recovered = await restore(store.root, again.client);
    expect(recovered.verification.ok).toBe(true);
    expect(await valueOf(again.client, 'after.tolist()')).toBe(expectedAfter);
    expect(await valueOf(again.client, 'total')).toBe(expectedTotal);
  }, 240_000);

  it('gc racing a writer never breaks a committed checkpoint', async () => {
    const store = new LocalStore(join(dir, 'store'));
    const source = await kernel();
    const recorder = await Recorder.attach(source.client);
    await runCell(source.client, 'import numpy as np\nrng = np.random.default_rng()');
    let writing = true;
    const committed: string[] = [];
    const writer = (async () => {
      try {
        for (let i = 0; i < 10; i++) {
          // A new 16 MB array each time (2 chunks), plus one kept throughout (its chunks are reused).
          await runCell(source.client, `data = rng.random(2_000_000)${i === 0 ? '\nkept = rng.random(1_500_000)' : ''}`);
          committed.push((await checkpoint(recorder, store)).checkpoint.manifest.id);
        }
      } finally {
        writing = false;
      }
    })();
    const results = [];
    while (writing) {
      results.push(await gc(store, { keep: 2, waitForWritersMs: 2000 }));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await writer;
    results.push(await gc(store, { keep: 2 }));
    const swept = results.filter((r) => r.swept);
    expect(swept.length).toBeGreaterThan(1);
    expect(results.reduce((n, r) => n + r.deletedChunks, 0)).toBeGreaterThan(0);
    const remaining = await store.list();
    expect([...remaining].sort()).toEqual(committed.slice(-2).sort());
    for (const id of remaining) {
      const stored = await store.open(id);
      for (const blob of stored.manifest.blobs) expect(await stored.blobProblem(blob), `${id} ${blob.file}`).toBeUndefined();
    }
    const target = await kernel();
    const report = await restore(store.root, target.client);
    expect(report.verification.ok).toBe(true);
    expect(await valueOf(target.client, 'float(data.sum())')).toBe(await valueOf(source.client, 'float(data.sum())'));
  }, 240_000);
});
