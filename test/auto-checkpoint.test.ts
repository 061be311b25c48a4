// Auto-checkpoint on a real kernel: a checkpoint after every cell once idle, preempted by the next
// cell (abandoned: nothing committed, nothing half-written read), each checkpoint restorable.
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { AutoCheckpointer, log, restore, type CheckpointBody } from '@nbferry/migrate';
import { Recorder } from '@nbferry/recorder';
import { LocalStore } from '@nbferry/store';
import { useKernelSandbox, valueOf } from './support/kernel-sandbox.js';
import { waitUntil } from './support/processes.js';

describe('auto-checkpoint', () => {
  const sandbox = useKernelSandbox('nbf-auto-');
  const kernel = sandbox.kernel;
  let dir: string;
  beforeEach(() => {
    dir = sandbox.dir();
  });

  it('checkpoints after each cell once idle, and every checkpoint restores the state after its cell', async () => {
    const store = new LocalStore(join(dir, 'store'));
    const source = await kernel();
    const recorder = await Recorder.attach(source.client);
    const auto = new AutoCheckpointer(recorder, store, { idleMs: 100 });
    const cells = ['import os\nseed = int.from_bytes(os.urandom(6), "big")', 'doubled = seed * 2', 'seed = seed + 1'];
    const expected: (string | undefined)[] = [];
    for (const [i, code] of cells.entries()) {
      expect((await source.client.execute(code)).status).toBe('ok');
      expect(await waitUntil(() => auto.stats.committed === i + 1, 60_000), JSON.stringify(auto.stats)).toBe(true);
      expected.push(await valueOf(source.client, 'seed'));
    }
    await auto.stop();
    expect(auto.stats).toMatchObject({ committed: 3, failed: 0 });
    const entries = await log(store);
    expect(entries.map((e) => e.cell)).toEqual(['import os', 'doubled = seed * 2', 'seed = seed + 1']);
    expect(entries.map((e) => e.parent)).toEqual([undefined, entries[0]!.id, entries[1]!.id]);
    for (const [i, entry] of entries.entries()) {
      const target = await kernel();
      const report = await restore(await store.open<CheckpointBody>(entry.id), target.client);
      expect(report.verification.ok).toBe(true);
      expect(await valueOf(target.client, 'seed')).toBe(expected[i]);
    }
  }, 240_000);

  it('a new cell preempts a running auto-checkpoint: it is abandoned, nothing is committed, and the next idle checkpoints the new state', async () => {
    const store = new LocalStore(join(dir, 'store'));
    const source = await kernel();
    const recorder = await Recorder.attach(source.client);
    let preempt: (() => void) | undefined;
    const auto = new AutoCheckpointer(recorder, store, {
      idleMs: 0,
      timeoutMs: 20_000,
      onError: (error) => console.log('auto-checkpoint failed:', error),
      onProgress: (event) => {
        if (process.env.NBF_DEBUG) console.log(new Date().toISOString(), JSON.stringify(event));
        if (event.phase === 'save') preempt?.();
      },
    });
    // 640 MB of entropy to save: the checkpoint is still writing when the next cell arrives.
    let sent = 0;
    let cellMs = 0;
    preempt = () => {
      if (sent > 0) return;
      sent += 1;
      // 150 ms into the save: the kernel is writing chunks when the cell arrives.
      setTimeout(() => {
        const started = performance.now();
        void source.client.execute('after = 1').then(() => {
          cellMs = performance.now() - started;
        });
      }, 150);
    };
    expect((await source.client.execute('import numpy as np\nbig = np.random.default_rng().random(80_000_000)')).status).toBe('ok');
    const settled = await waitUntil(() => auto.stats.abandoned >= 1 && auto.stats.committed >= 1, 60_000);
    expect(settled, JSON.stringify({ ...auto.stats, sent, cellMs })).toBe(true);
    await auto.stop();
    expect(sent).toBe(1);
    const ids = await store.list();
    expect(ids).toHaveLength(1); // only the checkpoint after `after = 1`; the preempted one left nothing
    const stored = await store.open<CheckpointBody>(ids[0]);
    expect(Object.keys(stored.manifest.body.fingerprints.values)).toContain('after');
    for (const blob of stored.manifest.blobs) expect(await stored.blobProblem(blob)).toBeUndefined();
    console.log(`cell sent during an auto-checkpoint's save of 640 MB (sent 150 ms into it) waited ${cellMs.toFixed(0)} ms`);
    const target = await kernel();
    const report = await restore(stored, target.client);
    expect(report.verification.ok).toBe(true);
  }, 240_000);
});
