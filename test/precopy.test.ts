// Pre-copy (issue 17): a live migration of a kernel whose auto-checkpoints are on sends only what
// changed since the last background checkpoint; the target loads the rest from the store.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AutoCheckpointer, migrateLive } from '@nbferry/migrate';
import { Recorder } from '@nbferry/recorder';
import { LocalStore } from '@nbferry/store';
import { runCell, useKernelSandbox, valueOf } from './support/kernel-sandbox.js';
import { waitUntil } from './support/processes.js';

describe('pre-copied live migration', () => {
  const sandbox = useKernelSandbox('nbf-precopy-');

  it('moves only the groups changed since the last auto-checkpoint; the rest loads from the store', async () => {
    const store = new LocalStore(join(sandbox.dir(), 'store'));
    const source = await sandbox.kernel();
    const recorder = await Recorder.attach(source.client);
    const auto = new AutoCheckpointer(recorder, store, { idleMs: 0 });
    // Unseeded: a rerun would draw other numbers, so `big` is saved (and pre-copied).
    await runCell(source.client, 'import numpy as np\nbig = np.random.default_rng().random(10_000_000)\nsmall = list(range(10))');
    const sourceSum = await valueOf(source.client, 'float(big.sum())');
    expect(await waitUntil(() => auto.stats.committed === 1, 60_000), JSON.stringify(auto.stats)).toBe(true);
    await auto.stop();
    await runCell(source.client, 'small.append(99)'); // not checkpointed: must cross the wire

    const precopied = await sandbox.kernel();
    const report = await migrateLive(recorder, precopied.client, { precopy: store });
    expect(report.verification.ok).toBe(true);
    expect(await valueOf(precopied.client, 'small[-1], float(big.sum())')).toBe(`(99, ${sourceSum})`);
    expect(report.bytesPrecopied).toBeGreaterThanOrEqual(80_000_000);
    expect(report.bytesMoved).toBeLessThan(1_000_000);

    // The same migration without the store sends everything.
    const whole = await sandbox.kernel();
    const full = await migrateLive(recorder, whole.client);
    expect(full.verification.ok).toBe(true);
    expect(full.bytesPrecopied).toBe(0);
    expect(full.bytesMoved).toBeGreaterThanOrEqual(80_000_000);
    console.log(`pre-copied migration: ${report.bytesMoved} bytes sent, ${report.bytesPrecopied} already stored; without pre-copy: ${full.bytesMoved} bytes sent`);
  }, 240_000);
});
