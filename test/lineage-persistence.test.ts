// The lineage point outlives the coordinator (issue 12): a second Recorder (as a second process
// would attach) continues the kernel's last checkpoint incrementally and can undo; code run outside
// recorded cells (a thread, a silent execute) changing a value in place is never reused stale; and
// the first checkpoint after an undo or restore reuses the checked-out checkpoint's measurement.
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { checkout, checkpoint, restore, undo } from '@nbferry/migrate';
import { Recorder } from '@nbferry/recorder';
import { LocalStore } from '@nbferry/store';
import { runCell, useKernelSandbox, valueOf } from './support/kernel-sandbox.js';

describe('lineage kept in the kernel', () => {
  const sandbox = useKernelSandbox('nbf-lineage-');
  const kernel = sandbox.kernel;
  let dir: string;
  beforeEach(() => {
    dir = sandbox.dir();
  });

  it('a coordinator attaching later checkpoints incrementally from the kernel\'s last checkpoint and undoes it', async () => {
    const source = await kernel();
    const first = await Recorder.attach(source.client);
    await runCell(source.client, 'import os, numpy as np\nbig = np.frombuffer(os.urandom(8 << 20), dtype=np.uint8).copy()\nsmall = [1, 2]');
    const c1 = await checkpoint(first, new LocalStore(join(dir, 'store')));
    await runCell(source.client, 'small.append(3)');

    // Another coordinator: a new Recorder and a store opened by another path spelling.
    const second = await Recorder.attach(source.client);
    const store = new LocalStore(join(dir, '.', 'store', '..', 'store'));
    const c2 = await checkpoint(second, store);
    const bigGroup = c2.checkpoint.manifest.body.problem.groups.find((g) => g.names.includes('big'))!.id;
    expect(c2.checkpoint.manifest.parent).toBe(c1.checkpoint.manifest.id);
    expect(c2.reused).toContain(bigGroup);
    expect(c2.measureReused).toContain(bigGroup);
    expect(c2.checkpoint.manifest.stats!.newBytes).toBeLessThan(1 << 20);

    const third = await Recorder.attach(source.client);
    const report = await undo(third, new LocalStore(join(dir, 'store')));
    expect(report.checkpointId).toBe(c1.checkpoint.manifest.id);
    expect(report.fromCheckpointId).toBe(c2.checkpoint.manifest.id);
    expect(report.verification.ok).toBe(true);
    expect(report.keptGroups).toContain(c1.checkpoint.manifest.body.problem.groups.find((g) => g.names.includes('big'))!.id);
    expect(await valueOf(source.client, 'small')).toBe('[1, 2]');
  }, 180_000);

  it('a value changed in place by a thread outside any cell is measured, saved and undone, not reused stale', async () => {
    const store = new LocalStore(join(dir, 'store'));
    const source = await kernel();
    const recorder = await Recorder.attach(source.client);
    await runCell(source.client, 'import threading, time, numpy as np\nshared = np.zeros(1 << 20)\nother = [1]');
    const before = await checkpoint(recorder, store);
    // The cell only starts the thread; the thread writes `shared` after the cell has ended.
    await runCell(source.client, 'def _later():\n    time.sleep(0.3)\n    shared[:10] = 7\nthreading.Thread(target=_later).start()');
    await new Promise((r) => setTimeout(r, 1500));
    const after = await checkpoint(recorder, store);
    const sharedGroup = after.checkpoint.manifest.body.problem.groups.find((g) => g.names.includes('shared'))!.id;
    expect(after.measureReused).not.toContain(sharedGroup);
    expect(after.reused).not.toContain(sharedGroup);
    expect(after.checkpoint.manifest.body.fingerprints.values.shared).not.toBe(before.checkpoint.manifest.body.fingerprints.values.shared);
    const fresh = await kernel();
    const restored = await restore(await store.open(after.checkpoint.manifest.id), fresh.client);
    expect(restored.verification.ok).toBe(true);
    expect(await valueOf(fresh.client, 'float(shared[:10].sum())')).toBe('70.0');

    // In place again, by a silent execute (another tool), then checkout of `after`: not kept stale.
    await source.client.execute('shared[:10] = -1', { silent: true, storeHistory: false });
    const back = await checkout(recorder, store, after.checkpoint.manifest.id);
    expect(back.verification.ok).toBe(true);
    expect(back.refingerprinted).toContain('shared');
    expect(back.keptGroups).not.toContain(sharedGroup);
    expect(await valueOf(source.client, 'float(shared[:10].sum())')).toBe('70.0');
  }, 180_000);

  it('a value changed in place by a comm handler (a widget callback) is not reused stale', async () => {
    const store = new LocalStore(join(dir, 'store'));
    const source = await kernel();
    const recorder = await Recorder.attach(source.client);
    await runCell(
      source.client,
      'import numpy as np\nstate = np.zeros(1 << 16)\n' +
        'def _on_open(comm, msg):\n    comm.on_msg(lambda m: state.__setitem__(slice(0, 4), m["content"]["data"]["v"]))\n' +
        'get_ipython().kernel.comm_manager.register_target("zz-widget", _on_open)',
    );
    const before = await checkpoint(recorder, store);
    const comm = await source.client.openComm('zz-widget');
    await comm.send({ v: 3 });
    await expect.poll(() => valueOf(source.client, 'float(state[:4].sum())'), { timeout: 10_000 }).toBe('12.0');
    const after = await checkpoint(recorder, store);
    const group = after.checkpoint.manifest.body.problem.groups.find((g) => g.names.includes('state'))!.id;
    expect(after.measureReused).not.toContain(group);
    expect(after.checkpoint.manifest.body.fingerprints.values.state).not.toBe(before.checkpoint.manifest.body.fingerprints.values.state);
    // Recorded as changed outside cells: a restore loads it rather than rerunning the cell that made zeros.
    const fresh = await kernel();
    const restored = await restore(await store.open(after.checkpoint.manifest.id), fresh.client);
    expect(restored.verification.ok).toBe(true);
    expect(await valueOf(fresh.client, 'float(state[:4].sum())')).toBe('12.0');
  }, 180_000);

  it('the first checkpoint after an undo or a restore reuses the checked-out measurement', async () => {
    const store = new LocalStore(join(dir, 'store'));
    const source = await kernel();
    const recorder = await Recorder.attach(source.client);
    await runCell(source.client, 'import os, numpy as np\nbig = np.frombuffer(os.urandom(8 << 20), dtype=np.uint8).copy()\nlst = [1, 2]');
    const c1 = await checkpoint(recorder, store);
    await runCell(source.client, 'lst.append(3)\nbig = big[::-1].copy()');
    await checkpoint(recorder, store);
    const undone = await undo(recorder, store);
    expect(undone.checkpointId).toBe(c1.checkpoint.manifest.id);
    await runCell(source.client, 'y = 1');
    const next = await checkpoint(recorder, store);
    const groupOf = (name: string) => next.checkpoint.manifest.body.problem.groups.find((g) => g.names.includes(name))!.id;
    // big and lst came back (loaded) exactly as c1 measured them: neither measured nor written again.
    expect(next.measureReused).toEqual(expect.arrayContaining([groupOf('big'), groupOf('lst')]));
    expect(next.measureReused).not.toContain(groupOf('y'));
    expect(next.reused).toContain(groupOf('big'));
    expect(next.checkpoint.manifest.parent).toBe(c1.checkpoint.manifest.id);

    // Restore into a fresh kernel: its first checkpoint in the same store reuses too.
    const fresh = await kernel();
    const restored = await restore(await store.open(next.checkpoint.manifest.id), fresh.client);
    expect(restored.verification.ok).toBe(true);
    await runCell(fresh.client, 'z = 2');
    const freshRecorder = await Recorder.attach(fresh.client);
    const afterRestore = await checkpoint(freshRecorder, store);
    const bigThere = afterRestore.checkpoint.manifest.body.problem.groups.find((g) => g.names.includes('big'))!.id;
    expect(afterRestore.measureReused).toContain(bigThere);
    expect(afterRestore.reused).toContain(bigThere);
    expect(afterRestore.checkpoint.manifest.parent).toBe(next.checkpoint.manifest.id);
  }, 240_000);
});
