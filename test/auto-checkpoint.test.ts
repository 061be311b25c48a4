// Auto-checkpoint on a real kernel: a checkpoint after every cell once idle, preempted by the next
// cell (abandoned: nothing committed, nothing half-written read), each checkpoint restorable.
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { AutoCheckpointer, log, restore, undo, type CheckpointBody } from '@nbferry/migrate';
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
  it('an undo held against the auto-checkpointer aborts the checkpoint of the state it replaces, and that state never becomes the lineage', async () => {
    const store = new LocalStore(join(dir, 'store'));
    const source = await kernel();
    const recorder = await Recorder.attach(source.client);
    let saving = false;
    const auto = new AutoCheckpointer(recorder, store, {
      idleMs: 0,
      timeoutMs: 60_000,
      onError: (error) => console.log('auto-checkpoint failed:', error),
      onProgress: (event) => {
        if (event.phase === 'save') saving = true;
      },
    });
    expect((await source.client.execute('x = 1\nkeep = [1, 2, 3]')).status).toBe('ok');
    expect(await waitUntil(() => auto.stats.committed === 1, 60_000), JSON.stringify(auto.stats)).toBe(true);
    saving = false;
    // 320 MB of entropy: its auto-checkpoint is still saving when the undo is asked for.
    expect((await source.client.execute('import numpy as np\nbig = np.random.default_rng().random(40_000_000)\nx = x + 41\nlabel = "undone"')).status).toBe('ok');
    expect(await waitUntil(() => saving, 60_000), 'the checkpoint of the undone cell started saving').toBe(true);
    const report = await auto.hold(() => undo(recorder, store));
    expect(report.verification.ok).toBe(true);
    expect(auto.stats, 'the checkpoint of the replaced state was abandoned, not committed').toMatchObject({ committed: 1, abandoned: 1 });
    expect(await valueOf(source.client, 'x')).toBe('1');
    expect(await valueOf(source.client, "'label' in globals() or 'big' in globals()")).toBe('False');
    expect((await source.client.execute('y = 2')).status).toBe('ok');
    expect(await waitUntil(() => auto.stats.committed === 2, 60_000), JSON.stringify(auto.stats)).toBe(true);
    await auto.stop();
    const entries = await log(store);
    expect(entries).toHaveLength(2);
    expect(entries[1]!.parent).toBe(entries[0]!.id);
    const target = await kernel();
    const restored = await restore(await store.open<CheckpointBody>(entries[1]!.id), target.client);
    expect(restored.verification.ok).toBe(true);
    expect(await valueOf(target.client, "sorted(n for n in ('x', 'y', 'keep', 'label', 'big') if n in globals())")).toBe("['keep', 'x', 'y']");
    expect(await valueOf(target.client, 'x')).toBe('1');
  }, 240_000);
});
