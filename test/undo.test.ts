// Undo / checkout into the same running kernel (issue 12): only the groups that differ come back,
// names created since are deleted, everything is verified, and working on makes a branch.
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { checkout, checkpoint, DEFAULT_COSTS, log, NothingToUndoError, restore, undo } from '@nbferry/migrate';
import { Recorder } from '@nbferry/recorder';
import { LocalStore } from '@nbferry/store';
import { runCell, useKernelSandbox, valueOf } from './support/kernel-sandbox.js';

const MiB = 1024 * 1024;

describe('undo in the same kernel', () => {
  const sandbox = useKernelSandbox('nbf-undo-');
  const kernel = sandbox.kernel;
  let dir: string;
  beforeEach(() => {
    dir = sandbox.dir();
  });

  it('undoes the last cell reloading only what it changed, then branches', async () => {
    const store = new LocalStore(join(dir, 'store'));
    const source = await kernel();
    const recorder = await Recorder.attach(source.client);
    // 200 MB of entropy: no rerun can bring it back, so only a reload could, and undo must not.
    await runCell(source.client, 'import os, numpy as np\nbig = np.frombuffer(os.urandom(200 * 2**20), dtype=np.uint8)\nbig_sum = int(big[::4096].sum())');
    const c1 = await checkpoint(recorder, store);
    await runCell(source.client, 'x = int.from_bytes(os.urandom(6), "big")\nlst = [x, 2, 3]');
    const c2 = await checkpoint(recorder, store);
    const before = { x: await valueOf(source.client, 'x'), lst: await valueOf(source.client, 'lst') };
    await runCell(source.client, 'x = x + 1\nlst.append(4)\ncreated = "since"');
    const c3 = await checkpoint(recorder, store);
    expect(c3.checkpoint.manifest.parent).toBe(c2.checkpoint.manifest.id);

    const report = await undo(recorder, store);
    expect(report.checkpointId).toBe(c2.checkpoint.manifest.id);
    expect(report.verification.ok).toBe(true);
    expect(await valueOf(source.client, 'x')).toBe(before.x);
    expect(await valueOf(source.client, 'lst')).toBe(before.lst);
    expect(await valueOf(source.client, 'created')).toBeUndefined();
    expect(report.deleted).toEqual(['created']);
    // The 200 MB array was left in place: its group kept, and nothing near its size loaded.
    const bigGroup = c2.checkpoint.manifest.body.problem.groups.find((g) => g.names.includes('big'))!;
    expect(report.keptGroups).toContain(bigGroup.id);
    expect(report.loadedBytes).toBeLessThan(MiB);
    expect(report.loadedGroups).toBeGreaterThan(0);
    expect(report.verification.variables.find((v) => v.name === 'big')?.outcome).toBe('restored');
    expect(await valueOf(source.client, 'int(big[::4096].sum()) == big_sum')).toBe('True');

    // Working on from the undone state: the new checkpoint's parent is the checked-out one (a branch).
    await runCell(source.client, 'y = x + 10');
    const branched = await checkpoint(recorder, store);
    expect(branched.checkpoint.manifest.parent).toBe(c2.checkpoint.manifest.id);
    expect(branched.reused).toContain(bigGroup.id); // still not written again
    const entries = await log(store);
    const at = entries.find((e) => e.id === c2.checkpoint.manifest.id)!;
    expect(at.children.sort()).toEqual([c3.checkpoint.manifest.id, branched.checkpoint.manifest.id].sort());
    expect(entries.find((e) => e.id === c1.checkpoint.manifest.id)!.children).toEqual([c2.checkpoint.manifest.id]);

    // A cell run since the last checkpoint: undo goes back to that checkpoint, not its parent.
    await runCell(source.client, 'x = -1\ndel y');
    const again = await undo(recorder, store);
    expect(again.checkpointId).toBe(branched.checkpoint.manifest.id);
    expect(again.verification.ok).toBe(true);
    expect(await valueOf(source.client, 'x')).toBe(before.x);
    expect(await valueOf(source.client, 'y')).toBe(String(Number(before.x) + 10));

    // Checkout forward again (any checkpoint by id), then the branch's checkpoint restores whole elsewhere.
    const forward = await checkout(recorder, store, c3.checkpoint.manifest.id);
    expect(forward.verification.ok).toBe(true);
    expect(await valueOf(source.client, 'lst')).toBe(before.lst!.replace(']', ', 4]'));
    expect(await valueOf(source.client, 'y')).toBeUndefined();
    const fresh = await kernel();
    const restored = await restore(await store.open(branched.checkpoint.manifest.id), fresh.client);
    expect(restored.verification.ok).toBe(true);
    expect(await valueOf(fresh.client, 'y')).toBe(String(Number(before.x) + 10));
    expect(await valueOf(fresh.client, 'int(big[::4096].sum()) == big_sum')).toBe('True');
  }, 240_000);

  it('undoes through reruns: a recomputed value comes back, kept values are not clobbered by the rerun', async () => {
    const store = new LocalStore(join(dir, 'store'));
    const source = await kernel();
    const recorder = await Recorder.attach(source.client);
    // Cheap deterministic cells, and a store slow to read from: the planner reruns them instead of
    // loading (left to measured timings, near a tie, the choice varied from run to run).
    const slowStore = { costs: { store: { ...DEFAULT_COSTS.store, latencyMs: 2000 } } };
    await runCell(source.client, 'base = list(range(10))');
    await runCell(source.client, 'scale = 3');
    await checkpoint(recorder, store, slowStore);
    await runCell(source.client, 'derived = [b * scale for b in base]');
    const c2 = await checkpoint(recorder, store, slowStore);
    await runCell(source.client, 'derived.append(99)\nscale = 4\nextra = 1');
    await checkpoint(recorder, store, slowStore);
    const report = await undo(recorder, store);
    expect(report.checkpointId).toBe(c2.checkpoint.manifest.id);
    expect(report.verification.ok).toBe(true);
    expect(await valueOf(source.client, 'derived')).toBe('[0, 3, 6, 9, 12, 15, 18, 21, 24, 27]');
    expect(await valueOf(source.client, 'scale')).toBe('3');
    expect(await valueOf(source.client, 'base')).toBe('[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]');
    expect(await valueOf(source.client, 'extra')).toBeUndefined();
    const baseGroup = c2.checkpoint.manifest.body.problem.groups.find((g) => g.names.includes('base'))!.id;
    // `derived` is recomputed by rerunning its cell, which reads the kept `base` as it is: base's cell is not rerun.
    expect(report.keptGroups).toContain(baseGroup);
    expect(report.steps.some((s) => s.label.includes('base = list'))).toBe(false);
    expect(report.rerunCells).toBeGreaterThan(0); // the planner recomputes these cheap cells (this is the path under test)
    expect(report.steps.some((s) => s.label.includes('derived = '))).toBe(true);
    // Twice: back to the first checkpoint's state.
    const twice = await undo(recorder, store);
    expect(twice.verification.ok).toBe(true);
    expect(await valueOf(source.client, 'derived')).toBeUndefined();
    expect(await valueOf(source.client, 'scale')).toBe('3');
  }, 120_000);

  it('refuses to undo with no checkpoint to go back to, changing nothing', async () => {
    const store = new LocalStore(join(dir, 'store'));
    const source = await kernel();
    const recorder = await Recorder.attach(source.client);
    await runCell(source.client, 'a = 1');
    await expect(undo(recorder, store)).rejects.toBeInstanceOf(NothingToUndoError);
    await checkpoint(recorder, store);
    await expect(undo(recorder, store)).rejects.toMatchObject({ code: 'NOTHING_TO_UNDO' });
    expect(await valueOf(source.client, 'a')).toBe('1');
  }, 120_000);
});
