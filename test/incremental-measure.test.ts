// Measure less (issues 12, 17): an incremental checkpoint measures and pickles only the groups whose
// names a cell wrote since the kernel's last checkpoint; the checkpoint still restores verified.
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { checkpoint, restore } from '@nbferry/migrate';
import { Recorder } from '@nbferry/recorder';
import { LocalStore } from '@nbferry/store';
import { runCell, useKernelSandbox, valueOf } from './support/kernel-sandbox.js';

describe('incremental measure', () => {
  const sandbox = useKernelSandbox('nbf-measure-');
  const kernel = sandbox.kernel;
  let dir: string;
  beforeEach(() => {
    dir = sandbox.dir();
  });

  it('re-measures a value changed in place, reuses untouched groups, and restores verified', async () => {
    const store = new LocalStore(join(dir, 'store'));
    const source = await kernel();
    const recorder = await Recorder.attach(source.client);
    await runCell(source.client, 'import os, numpy as np\nkept = np.frombuffer(os.urandom(4 << 20), dtype=np.uint8).copy()\nedited = np.frombuffer(os.urandom(1 << 20), dtype=np.uint8).copy()');
    const first = await checkpoint(recorder, store);
    expect(first.measureReused).toEqual([]);
    const groupOf = (result: typeof first, name: string) => result.checkpoint.manifest.body.problem.groups.find((g) => g.names.includes(name))!.id;

    await runCell(source.client, 'edited[:100] = 0');
    const second = await checkpoint(recorder, store);
    expect(second.measureReused).toContain(groupOf(second, 'kept'));
    expect(second.measureReused).not.toContain(groupOf(second, 'edited'));
    expect(second.reused).toContain(groupOf(second, 'kept'));
    expect(second.reused).not.toContain(groupOf(second, 'edited')); // its new bytes were saved
    expect(second.checkpoint.manifest.stats!.newBytes).toBeGreaterThan(0);
    expect(second.checkpoint.manifest.body.fingerprints.values.edited).not.toBe(first.checkpoint.manifest.body.fingerprints.values.edited);

    // Not incremental: everything measured again, and the same fingerprints come out.
    const full = await checkpoint(recorder, store, { incremental: false });
    expect(full.measureReused).toEqual([]);
    expect(full.checkpoint.manifest.body.fingerprints.values).toEqual(second.checkpoint.manifest.body.fingerprints.values);

    const fresh = await kernel();
    const report = await restore(await store.open(second.checkpoint.manifest.id), fresh.client);
    expect(report.verification.ok).toBe(true);
    expect(report.verification.totals.restored).toBeGreaterThanOrEqual(2);
    expect(await valueOf(fresh.client, 'int(edited[:100].sum())')).toBe('0');
  }, 180_000);

  it('measures everything after a change made outside recorded cells', async () => {
    const store = new LocalStore(join(dir, 'store'));
    const source = await kernel();
    const recorder = await Recorder.attach(source.client);
    await runCell(source.client, 'a = [1, 2]\nb = [3]');
    await checkpoint(recorder, store);
    // Not a recorded cell: the shim records it as an `outside` change when the measure starts.
    await source.client.execute('a = a + [9]', { silent: true, storeHistory: false });
    const after = await checkpoint(recorder, store);
    expect(after.measureReused).toEqual([]);
    expect(recorder.graph.executions.at(-1)?.kind).toBe('outside');
    const fresh = await kernel();
    const report = await restore(await store.open(after.checkpoint.manifest.id), fresh.client);
    expect(report.verification.ok).toBe(true);
    expect(await valueOf(fresh.client, 'a')).toBe('[1, 2, 9]');
  }, 120_000);
});
