// Fork and the warm kernel pool (issue 17): one checkpoint, n verified children that share its
// blobs and then live their own lives; a pool hands out started, shim-attached kernels and never
// a dead one.
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkpoint, fork, ForkError, log, WarmPool, WarmPoolClosedError, type ProgressEvent, type WarmKernel } from '@nbferry/migrate';
import { Recorder, type SavedChunksEvent } from '@nbferry/recorder';
import { LocalStore, readKeyFile, writeKeyFile } from '@nbferry/store';
import { runCell, useKernelSandbox, valueOf } from './support/kernel-sandbox.js';
import { testPython } from './support/python.js';

describe('fork', () => {
  const sandbox = useKernelSandbox('nbf-fork-');

  it('brings up n verified kernels from one checkpoint, each independent of the others', async () => {
    const source = await sandbox.kernel();
    const recorder = await Recorder.attach(source.client);
    // Unseeded randomness: a child holds the source's values only if they were loaded, not rerun.
    await runCell(source.client, 'import numpy as np\narr = np.random.default_rng().random(200_000)\nitems = [1, 2]\nitems.append(int(arr[0] * 1e9))');
    await runCell(source.client, 'def scale(k):\n    return arr * k\ntotal = float(scale(2).sum())');
    const store = new LocalStore(join(sandbox.dir(), 'store'));
    const result = await fork(recorder, store, 3, { launch: { python: testPython(), cwd: sandbox.dir() } });
    try {
      expect(result.children).toHaveLength(3);
      expect((await log(store)).map((e) => e.id)).toEqual([result.checkpoint.checkpoint.manifest.id]); // one checkpoint
      const expected = { items: await valueOf(source.client, 'items'), total: await valueOf(source.client, 'total') };
      for (const [i, child] of result.children.entries()) {
        expect(child.report.verification.ok).toBe(true);
        expect(child.kernel.client).not.toBe(source.client);
        expect(await valueOf(child.kernel.client, 'items')).toBe(expected.items);
        expect(await valueOf(child.kernel.client, 'float(scale(2).sum())')).toBe(expected.total);
        await runCell(child.kernel.client, `items.append(${100 + i})`); // each child goes its own way
      }
      const after = await Promise.all(result.children.map((c) => valueOf(c.kernel.client, 'items[-1]')));
      expect(after).toEqual(['100', '101', '102']);
      expect(await valueOf(source.client, 'items')).toBe(expected.items); // the source is only read
    } finally {
      await Promise.all(result.children.map((c) => c.kernel.dispose()));
    }
  });

  it('takes its children from a warm pool, which refills', async () => {
    const source = await sandbox.kernel();
    const recorder = await Recorder.attach(source.client);
    await runCell(source.client, 'import os\nsecret = os.urandom(16).hex()');
    const pool = new WarmPool({ size: 2, launch: { python: testPython(), cwd: sandbox.dir() }, modules: ['json'] });
    try {
      await pool.whenFilled();
      expect(pool.readyCount).toBe(2);
      const result = await fork(recorder, new LocalStore(join(sandbox.dir(), 'store')), 2, { pool });
      try {
        for (const child of result.children) {
          expect(child.report.verification.ok).toBe(true);
          expect(await valueOf(child.kernel.client, 'secret')).toBe(await valueOf(source.client, 'secret'));
        }
      } finally {
        await Promise.all(result.children.map((c) => c.kernel.dispose()));
      }
      await pool.whenFilled(); // the two taken were replaced in the background
      expect(pool.readyCount).toBe(2);
    } finally {
      await pool.close();
    }
    expect(pool.readyCount).toBe(0);
    await expect(pool.take()).rejects.toBeInstanceOf(WarmPoolClosedError);
  });

  it('children load each group while the source is still writing the next (pipelined into a local store)', async () => {
    const source = await sandbox.kernel();
    const recorder = await Recorder.attach(source.client);
    // Four unseeded 48 MB arrays: a child holds them only by loading what the source wrote.
    await runCell(source.client, 'import numpy as np\na0, a1, a2, a3 = (np.random.default_rng().random(6_000_000) for _ in range(4))');
    // Warm children (shim in, numpy imported): their first load is not held up by the injection.
    const pool = new WarmPool({ size: 2, launch: { python: testPython(), cwd: sandbox.dir() }, modules: ['numpy'] });
    try {
      await pool.whenFilled();
      const result = await fork(recorder, new LocalStore(join(sandbox.dir(), 'store')), 2, { pool });
      try {
        const sums = '[round(float(v.sum()), 6) for v in (a0, a1, a2, a3)]';
        const expected = await valueOf(source.client, sums);
        for (const child of result.children) {
          expect(child.report.verification.ok).toBe(true);
          expect(await valueOf(child.kernel.client, sums)).toBe(expected);
          const timeline = child.timeline!;
          expect(timeline.pipelined).toBe(true);
          expect(timeline.loads.map((l) => l.group).sort()).toEqual([...result.checkpoint.plan.serialize].sort());
        }
        // At least one child began a load before the source had written its last group.
        const early = result.children.flatMap((c) => c.timeline!.loads.filter((l) => l.startedMs < c.timeline!.saveEndedMs));
        expect(early.length, JSON.stringify(result.children.map((c) => c.timeline))).toBeGreaterThan(0);
      } finally {
        await Promise.all(result.children.map((c) => c.kernel.dispose()));
      }
    } finally {
      await pool.close();
    }
  }, 240_000);

  it('streams a big group to every child chunk by chunk as the source stores it, each child checking every chunk', async () => {
    const source = await sandbox.kernel();
    const recorder = await Recorder.attach(source.client);
    // One unseeded 64 MB array (8 chunks) and a small list: a child holds them only by loading them.
    await runCell(source.client, 'import numpy as np\nbig = np.random.default_rng().random(8_000_000)\nsmall = [1, 2, 3]');
    const pushed: SavedChunksEvent[] = [];
    const stop = recorder.events.on('savedChunks', (event) => pushed.push(event));
    const pool = new WarmPool({ size: 2, launch: { python: testPython(), cwd: sandbox.dir() }, modules: ['numpy'] });
    try {
      await pool.whenFilled();
      const result = await fork(recorder, new LocalStore(join(sandbox.dir(), 'store')), 2, { pool });
      try {
        const bigBlob = result.checkpoint.checkpoint.manifest.blobs.find((b) => b.variables.includes('big'))!;
        // The source told of the chunks as it stored them, in order, before its save finished.
        expect(pushed.length).toBeGreaterThan(1);
        expect(pushed.flatMap((p) => p.chunks)).toEqual(bigBlob.chunks);
        const expected = await valueOf(source.client, 'float(big.sum())');
        for (const child of result.children) {
          expect(child.report.verification.ok).toBe(true);
          expect(await valueOf(child.kernel.client, 'float(big.sum())')).toBe(expected);
          expect(await valueOf(child.kernel.client, 'small')).toBe('[1, 2, 3]');
          const loads = child.timeline!.loads;
          expect(loads.find((l) => l.group === bigBlob.group)?.streamed).toBe(true);
          // Smallest first: the small group was loaded before the big one.
          expect(loads.map((l) => l.group).indexOf(bigBlob.group)).toBe(loads.length - 1);
        }
      } finally {
        await Promise.all(result.children.map((c) => c.kernel.dispose()));
      }
    } finally {
      stop();
      await pool.close();
    }
  }, 240_000);

  it('fails whole with a typed error when a stored chunk of a streamed group does not match its name', async () => {
    const source = await sandbox.kernel();
    const recorder = await Recorder.attach(source.client);
    await runCell(source.client, 'import numpy as np\nbig = np.random.default_rng().random(4_000_000)');
    const store = new LocalStore(join(sandbox.dir(), 'store'));
    // An earlier checkpoint stored big's chunks; one of them is then changed in place (same size).
    const earlier = await checkpoint(recorder, store);
    const digest = earlier.checkpoint.manifest.blobs[0]!.chunks![1]!;
    const chunk = await open(join(store.chunksDir, digest.slice(0, 2), digest), 'r+');
    try {
      await chunk.write(Buffer.from('tampered'), 0, 8, 0);
    } finally {
      await chunk.close();
    }
    const warmed: WarmKernel[] = [];
    const pool = new WarmPool({ size: 2, launch: { python: testPython(), cwd: sandbox.dir() }, modules: ['numpy'], onReady: (w) => warmed.push(w) });
    try {
      await pool.whenFilled();
      // Saved anew (not reused from the earlier checkpoint): the source finds the chunk stored and does not rewrite it.
      const failed = fork(recorder, store, 2, { pool, incremental: false });
      await expect(failed).rejects.toBeInstanceOf(ForkError);
      await expect(failed).rejects.toMatchObject({ stage: 'restore', failed: 2, cause: { name: 'StoredChunkError', code: 'STORED_CHUNK_DAMAGED' } });
      for (const child of warmed.slice(0, 2)) expect(child.kernel.client.isAlive).toBe(false);
    } finally {
      await pool.close();
    }
  }, 240_000);

  it('leaves the pool unfilled while it forks, refills it after, and reports the checkpoint’s progress', async () => {
    const source = await sandbox.kernel();
    const recorder = await Recorder.attach(source.client);
    await runCell(source.client, 'import numpy as np\nbig = np.random.default_rng().random(3_000_000)\nsmall = {"k": 1}');
    const pool = new WarmPool({ size: 2, launch: { python: testPython(), cwd: sandbox.dir() }, modules: ['numpy'] });
    try {
      await pool.whenFilled();
      const events: ProgressEvent[] = [];
      const poolSeen: number[] = [];
      const onProgress = (event: ProgressEvent) => {
        events.push(event);
        poolSeen.push(pool.readyCount + pool.startingCount);
      };
      const result = await fork(recorder, new LocalStore(join(sandbox.dir(), 'store')), 2, { pool, onProgress });
      try {
        expect(result.timings.pipelined).toBe(true);
        // The two kernels were taken before the checkpoint began, and none started meanwhile.
        expect(poolSeen.length).toBeGreaterThan(0);
        expect(new Set(poolSeen)).toEqual(new Set([0]));
        expect(pool.startingCount).toBe(2); // refilling once the fork returned
        expect(events.map((e) => e.phase)).toEqual(expect.arrayContaining(['measure', 'plan', 'save', 'commit']));
        const saved = events.flatMap((e) => (e.phase === 'bytes' && e.op === 'save' ? [e.done] : []));
        const total = result.checkpoint.checkpoint.manifest.blobs.reduce((sum, b) => sum + b.bytes, 0);
        expect(saved).toEqual([...saved].sort((a, b) => a - b));
        expect(saved.at(-1)).toBe(total);
      } finally {
        await Promise.all(result.children.map((c) => c.kernel.dispose()));
      }
      await pool.whenFilled();
      expect(pool.readyCount).toBe(2);
    } finally {
      await pool.close();
    }
  }, 240_000);

  it('refuses a bad count, and fails whole when a child cannot start', async () => {
    const source = await sandbox.kernel();
    const recorder = await Recorder.attach(source.client);
    await runCell(source.client, 'x = 41 + 1');
    const store = new LocalStore(join(sandbox.dir(), 'store'));
    await expect(fork(recorder, store, 0)).rejects.toMatchObject({ code: 'FORK_COUNT' });
    const failed = fork(recorder, store, 2, { launch: { python: join(sandbox.dir(), 'no-such-python') } });
    await expect(failed).rejects.toBeInstanceOf(ForkError);
    await expect(failed).rejects.toMatchObject({ code: 'FORK_FAILED', stage: 'start', failed: 2, requested: 2 });
    expect(await valueOf(source.client, 'x')).toBe('42'); // the source is untouched
  });

  it('shuts down every child when a restore is refused', async () => {
    const source = await sandbox.kernel();
    const recorder = await Recorder.attach(source.client);
    await runCell(source.client, 'x = 7');
    const warmed: WarmKernel[] = [];
    const pool = new WarmPool({ size: 2, launch: { python: testPython(), cwd: sandbox.dir() }, modules: [], onReady: (w) => warmed.push(w) });
    try {
      await pool.whenFilled();
      // An unsigned checkpoint restored with a key is refused before anything loads.
      const key = await readKeyFile((await writeKeyFile(join(sandbox.dir(), 'key'))).path);
      const failed = fork(recorder, new LocalStore(join(sandbox.dir(), 'store')), 2, { pool, restore: { key } });
      await expect(failed).rejects.toMatchObject({ code: 'FORK_FAILED', stage: 'restore', failed: 2 });
      const handedOut = warmed.slice(0, 2);
      for (const child of handedOut) expect(child.kernel.client.isAlive).toBe(false);
      expect(await valueOf(source.client, 'x')).toBe('7');
    } finally {
      await pool.close();
    }
  });
});

describe('warm pool', () => {
  const sandbox = useKernelSandbox('nbf-pool-');

  it('takes without refilling when asked, and starts a kernel for each take left waiting', async () => {
    const pool = new WarmPool({ size: 1, launch: { python: testPython(), cwd: sandbox.dir() }, modules: [] });
    const taken: WarmKernel[] = [];
    try {
      await pool.whenFilled();
      const first = pool.take({ refill: false });
      expect(pool.startingCount).toBe(0); // the ready one was handed out, no replacement started
      taken.push(await first);
      expect(pool.readyCount + pool.startingCount).toBe(0);
      // Two takes at once with nothing ready: each gets a kernel of its own started.
      const both = [pool.take({ refill: false }), pool.take({ refill: false })];
      expect(pool.startingCount).toBe(2);
      taken.push(...(await Promise.all(both)));
      expect(new Set(taken.map((w) => w.kernel)).size).toBe(3);
      expect(taken.every((w) => w.kernel.client.isAlive)).toBe(true);
      expect(pool.readyCount + pool.startingCount).toBe(0);
      await pool.whenFilled(); // refilled when the caller says
      expect(pool.readyCount).toBe(1);
    } finally {
      await Promise.all(taken.map((w) => w.kernel.dispose()));
      await pool.close();
    }
  });

  it('never hands out a kernel that died while idle', async () => {
    const warmed: WarmKernel[] = [];
    const pool = new WarmPool({ size: 1, launch: { python: testPython(), cwd: sandbox.dir() }, modules: [], onReady: (w) => warmed.push(w) });
    try {
      await pool.whenFilled();
      const first = await pool.take();
      await pool.whenFilled();
      // Kill the pooled replacement while it waits; the next take must give a live one.
      expect(warmed).toHaveLength(2);
      const idle = warmed[1]!;
      expect(idle.kernel.client.process!.signal('SIGKILL')).toBe(true);
      await expect.poll(() => idle.kernel.client.isAlive, { timeout: 10_000 }).toBe(false);
      const second = await pool.take();
      try {
        expect(second.kernel.client.isAlive).toBe(true);
        expect(second.kernel).not.toBe(idle.kernel);
        await runCell(second.kernel.client, 'ok = 1');
      } finally {
        await Promise.all([first.kernel.dispose(), second.kernel.dispose()]);
      }
    } finally {
      await pool.close();
    }
  });
});
