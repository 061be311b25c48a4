// Pipelined restore (issue 17): the target loads each group as soon as the source has stored it,
// while the source is still writing the next; a failure mid-pipeline leaves the source and the
// store's previous state untouched and the target cleaned, and says so.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { migrateLive, migrateThroughStore, PipelinedMigrationError, prepareTarget } from '@nbferry/migrate';
import { Recorder } from '@nbferry/recorder';
import { LocalStore } from '@nbferry/store';
import { runCell, useKernelSandbox, valueOf } from './support/kernel-sandbox.js';

// Made before the recorder attaches (unknown provenance): the plan must save every one of them.
const ARRAYS = 'import numpy as np\na0, a1, a2, a3 = (np.random.default_rng(i).random(6_000_000) for i in range(4))';
const SUMS = '[round(float(v.sum()), 6) for v in (a0, a1, a2, a3)]';

describe('pipelined migration through a store', () => {
  const sandbox = useKernelSandbox('nbf-pipelined-');

  it('starts loading groups before the source has finished saving, and verifies the result', async () => {
    const source = await sandbox.kernel();
    await runCell(source.client, ARRAYS);
    const recorder = await Recorder.attach(source.client);
    await runCell(source.client, 'label = "pipelined"');
    const target = await sandbox.kernel();
    const store = new LocalStore(join(sandbox.dir(), 'store'));

    // A prepared target (shim attached, numpy imported, as a warm pool's): its first load is not
    // held up by the injection, so the loads can overlap even a save a quiet machine does in 0.3 s.
    const prepared = await prepareTarget(target.client, ['numpy']);
    const result = await migrateThroughStore(recorder, store, { client: target.client, prepared });

    expect(result.restore.verification.ok).toBe(true);
    expect(result.timeline.pipelined).toBe(true);
    expect(await valueOf(target.client, SUMS)).toBe(await valueOf(source.client, SUMS));
    expect(await valueOf(target.client, 'label')).toBe("'pipelined'");
    const { loads, saveEndedMs } = result.timeline;
    expect(loads.map((l) => l.group).sort()).toEqual([...result.checkpoint.plan.serialize].sort());
    // The first array's load began while the source was still writing the others.
    const early = loads.filter((l) => l.startedMs < saveEndedMs);
    expect(early.length, JSON.stringify(result.timeline)).toBeGreaterThan(0);
    // The checkpoint is a normal one: committed, and restorable on its own.
    expect(store.root).toBe(join(sandbox.dir(), 'store'));
    expect(result.checkpoint.checkpoint.manifest.blobs.length).toBe(loads.length);
    console.log(`pipelined: save ${saveEndedMs - result.timeline.saveStartedMs} ms, loads ${loads.map((l) => `${l.startedMs.toFixed(0)}–${l.endedMs.toFixed(0)}`).join(', ')} ms, restored at ${result.timeline.restoredMs.toFixed(0)} ms`);
  }, 240_000);

  it("a pooled target imports the source's other modules first, while the source checkpoints, not at the load that needs each (also live)", async () => {
    const source = await sandbox.kernel();
    // Made before the recorder attaches (saved, so each comes back by a load): `label` is the
    // smaller group, loaded first; `half` needs the module `fractions`, which no kernel has yet.
    await runCell(source.client, 'half = __import__("fractions").Fraction(10**200, 3)\nlabel = "x"');
    const recorder = await Recorder.attach(source.client);
    const store = new LocalStore(join(sandbox.dir(), 'store-pooled'));
    // Which of the checkpoint's names were bound when the target imported `fractions`.
    const SPY =
      'import sys\nnbf_seen = []\nclass NbfSpy:\n    def find_spec(self, name, path=None, target=None):\n' +
      '        if name == "fractions": nbf_seen.append([k for k in ("half", "label") if k in get_ipython().user_ns])\n' +
      'sys.meta_path.insert(0, NbfSpy())';
    async function pooledTarget() {
      const target = await sandbox.kernel();
      const prepared = await prepareTarget(target.client, ['numpy']); // a warm pool's kernel
      await target.client.execute(SPY, { silent: true });
      return { client: target.client, prepared };
    }

    const warm = await pooledTarget();
    const result = await migrateThroughStore(recorder, store, warm);
    expect(result.restore.verification.ok, JSON.stringify(result.restore.verification.variables)).toBe(true);
    expect(await valueOf(warm.client, 'nbf_seen')).toBe('[[]]'); // before anything was bound
    expect(await valueOf(warm.client, 'half.denominator, label')).toBe("(3, 'x')");

    // The same, told the source's modules are the pool's: `fractions` comes with the load of `half`.
    const lazy = await pooledTarget();
    const again = await migrateThroughStore(recorder, store, lazy, { modules: ['numpy'] });
    expect(again.restore.verification.ok).toBe(true);
    expect(await valueOf(lazy.client, 'nbf_seen')).toBe("[['label']]");

    // Live migration (the service's, over the wire) does the same.
    const live = await pooledTarget();
    const report = await migrateLive(recorder, live.client, { prepared: live.prepared });
    expect(report.verification.ok).toBe(true);
    expect(await valueOf(live.client, 'nbf_seen')).toBe('[[]]');
  }, 240_000);

  it('live migration: the target loads each group while the source serializes the next', async () => {
    const source = await sandbox.kernel();
    await runCell(source.client, ARRAYS);
    const recorder = await Recorder.attach(source.client);
    const target = await sandbox.kernel();
    // Prepared as a warm pool's kernel (shim in, numpy imported): the first load is not held up by
    // the injection, so loads can overlap even a serialization a quiet machine does in 0.3 s.
    await prepareTarget(target.client, ['numpy']);

    const report = await migrateLive(recorder, target.client);

    expect(report.verification.ok).toBe(true);
    expect(await valueOf(target.client, SUMS)).toBe(await valueOf(source.client, SUMS));
    expect(report.loadsBeforeSerialized, JSON.stringify(report.steps)).toBeGreaterThan(0);
    expect(report.bytesMoved).toBeGreaterThanOrEqual(4 * 48_000_000);

    // Not pipelined on request: every load comes after the source serialized everything.
    const other = await sandbox.kernel();
    const whole = await migrateLive(recorder, other.client, { pipelined: false });
    expect(whole.verification.ok).toBe(true);
    expect(whole.loadsBeforeSerialized).toBeUndefined();
  }, 240_000);

  it('a cell run on the source mid-pipeline: the target is cleaned and the migration runs checkpoint-then-restore with the new state', async () => {
    const source = await sandbox.kernel();
    await runCell(source.client, ARRAYS);
    const recorder = await Recorder.attach(source.client);
    await runCell(source.client, 'label = "before"');
    const target = await sandbox.kernel();
    const store = new LocalStore(join(sandbox.dir(), 'store-moved'));
    let ran: Promise<unknown> | undefined;

    const result = await migrateThroughStore(recorder, store, { client: target.client }, {
      // The user runs a cell on the source once the target has begun loading: the next group's save sees it.
      restore: { onProgress: (event) => void (event.phase === 'load' && (ran ??= source.client.execute('label = "after"'))) },
    });
    await ran;

    expect(ran).toBeDefined();
    expect(result.timeline.pipelined).toBe(false);
    expect(result.restore.verification.ok).toBe(true);
    expect(await valueOf(target.client, 'label')).toBe("'after'");
    expect(await valueOf(target.client, SUMS)).toBe(await valueOf(source.client, SUMS));
  }, 240_000);

  it('a checkpoint that fails mid-pipeline leaves the source and store untouched and the target cleaned, never interrupted', async () => {
    const source = await sandbox.kernel();
    await runCell(source.client, ARRAYS);
    const recorder = await Recorder.attach(source.client);
    const target = await sandbox.kernel();
    let interrupts = 0;
    target.client.events.on('interrupt', () => (interrupts += 1));
    const storeDir = join(sandbox.dir(), 'store-fail');
    const store = new LocalStore(storeDir);
    const before = await valueOf(source.client, SUMS);
    const abort = new AbortController();
    const stop = () => abort.abort(new Error('stopped by the test'));

    const failed = await migrateThroughStore(recorder, store, { client: target.client }, {
      signal: abort.signal,
      // Stopped mid-pipeline, before the commit whichever kernel is quicker: at the target's first
      // load (the source still saving), or once the source has saved every group (the target loading
      // them, unpickling numpy's arrays: an interrupt there would break its numpy).
      restore: { onProgress: (event) => event.phase === 'load' && stop() },
      onCheckpointProgress: (event) => event.phase === 'commit' && stop(),
    }).then(
      () => undefined,
      (error: unknown) => error,
    );

    expect(failed).toBeInstanceOf(PipelinedMigrationError);
    expect((failed as PipelinedMigrationError).code).toBe('PIPELINE_CHECKPOINT_FAILED');
    expect((failed as Error).message).toMatch(/source kernel is unchanged/);
    expect(await valueOf(source.client, SUMS)).toBe(before);
    expect(existsSync(join(storeDir, 'LATEST'))).toBe(false);
    // Cleaned after its in-flight load finished, not interrupted: nothing bound, numpy whole.
    expect(interrupts).toBe(0);
    expect(await valueOf(target.client, '[n for n in ("a0", "a1", "a2", "a3") if n in globals()]')).toBe('[]');
    expect(await valueOf(target.client, 'int(__import__("numpy").arange(4).sum())')).toBe('6');
  }, 240_000);
});
