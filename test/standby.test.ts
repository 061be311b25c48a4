// A standby kernel that follows a source's auto-checkpoints (issue 17, pre-copy): migrating to it
// moves only what changed since it last caught up, and the result is verified like any restore.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AutoCheckpointer, migrateToStandby, prepareTarget, Standby } from '@nbferry/migrate';
import { Recorder } from '@nbferry/recorder';
import { LocalStore } from '@nbferry/store';
import { runCell, useKernelSandbox, valueOf } from './support/kernel-sandbox.js';

const loadsOf = (steps: readonly { label: string }[]) => steps.filter((s) => s.label.startsWith('load ')).map((s) => s.label);

describe('standby', () => {
  const sandbox = useKernelSandbox('nbf-standby-');

  it('follows the auto-checkpoints, and a migration then loads only what changed since', async () => {
    const source = await sandbox.kernel();
    const recorder = await Recorder.attach(source.client);
    const store = new LocalStore(join(sandbox.dir(), 'store'));
    const standbyKernel = await sandbox.kernel();
    const prepared = await prepareTarget(standbyKernel.client, ['numpy']);
    const errors: unknown[] = [];
    const standby = new Standby(prepared.recorder, store, { onError: (error) => errors.push(error) });
    const auto = new AutoCheckpointer(recorder, store, { idleMs: 0, onCheckpoint: (saved) => standby.offer(saved.checkpoint.manifest.id) });
    try {
      // Unseeded: the standby holds these values only by loading what the source wrote.
      await runCell(source.client, 'import numpy as np\nbig = np.random.default_rng().random(2_000_000)');
      await auto.flush();
      await runCell(source.client, 'small = [int(x * 1000) for x in big[:5]]\ngone = "temporary"');
      await auto.flush();
      await standby.idle();
      expect(errors).toEqual([]);
      expect(standby.syncedId).toBe(auto.lastCheckpointId);
      expect(await valueOf(standbyKernel.client, 'float(big.sum())')).toBe(await valueOf(source.client, 'float(big.sum())'));

      // The last change is not checkpointed yet when the migration is asked for (unseeded: it must be moved, not rerun).
      await runCell(source.client, 'small.append(int(np.random.default_rng().integers(10**9)))\ndel gone');
      await auto.stop();
      const moved = await migrateToStandby(recorder, standby);
      expect(moved.report.verification.ok).toBe(true);
      expect(standby.syncedId).toBe(moved.checkpoint.checkpoint.manifest.id);
      // Only the changed group came over; the 16 MB array the standby already held stayed (neither loaded nor rerun).
      const loads = loadsOf(moved.report.steps);
      expect(loads.some((l) => l.includes('small')), loads.join('; ')).toBe(true);
      expect(moved.report.steps.some((s) => s.label.includes('big =')), JSON.stringify(moved.report.steps)).toBe(false);
      expect(loads.some((l) => l.includes('big')), loads.join('; ')).toBe(false);
      expect(moved.report.deleted).toEqual(['gone']);
      for (const expression of ['small', 'float(big.sum())', '"gone" in globals()']) {
        expect(await valueOf(standbyKernel.client, expression)).toBe(await valueOf(source.client, expression));
      }
      console.log(`standby migration: checkpoint ${moved.timings.checkpointMs.toFixed(0)} ms, catch-up ${moved.timings.syncMs.toFixed(0)} ms, loads: ${loads.join('; ')}`);
    } finally {
      await auto.stop();
    }
  }, 240_000);

  it('a newer offer replaces one not yet started, and a failed catch-up is reported and retried by the next', async () => {
    const source = await sandbox.kernel();
    const recorder = await Recorder.attach(source.client);
    const store = new LocalStore(join(sandbox.dir(), 'store'));
    const standbyKernel = await sandbox.kernel();
    const prepared = await prepareTarget(standbyKernel.client, []);
    const failed: string[] = [];
    const standby = new Standby(prepared.recorder, store, { onError: (_error, id) => failed.push(id) });
    standby.offer('no-such-checkpoint');
    await standby.idle();
    expect(failed).toEqual(['no-such-checkpoint']);
    expect(standby.lastError).toBeDefined();
    expect(standby.syncedId).toBeUndefined();

    await runCell(source.client, 'x = 1');
    const { checkpoint } = await import('@nbferry/migrate');
    const first = await checkpoint(recorder, store);
    await runCell(source.client, 'x = 2');
    const second = await checkpoint(recorder, store);
    standby.offer(first.checkpoint.manifest.id);
    standby.offer(second.checkpoint.manifest.id); // before the first started: replaces it
    await standby.idle();
    expect(standby.lastError).toBeUndefined();
    expect(standby.syncedId).toBe(second.checkpoint.manifest.id);
    expect(await valueOf(standbyKernel.client, 'x')).toBe('2');
  }, 240_000);
});
