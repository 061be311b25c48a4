// Fingerprints name their hash: xxh3-128 where the kernel's Python has the optional xxhash package,
// sha256 otherwise. A restore into a kernel that cannot compute the checkpoint's hash still restores
// (intact loads are proven by their sha256 checksums) and says which variables it could not compare.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Kernel } from '@nbferry/kernel';
import { checkpoint, restore } from '@nbferry/migrate';
import { Recorder } from '@nbferry/recorder';
import { LocalStore } from '@nbferry/store';
import { runCell, useKernelSandbox, valueOf } from './support/kernel-sandbox.js';

describe('fingerprint hashes', () => {
  const sandbox = useKernelSandbox('nbf-fp-hash-');

  /** A PYTHONPATH on which `import xxhash` fails as if it were not installed. */
  async function withoutXxhash(): Promise<Record<string, string>> {
    const blocker = join(sandbox.dir(), 'no-xxhash');
    await mkdir(blocker);
    await writeFile(join(blocker, 'xxhash.py'), 'raise ImportError("xxhash is not installed here (test)")\n');
    return { PYTHONPATH: blocker };
  }

  /** `squares` comes back by rerunning its cell (for the generator beside it); `noise` only by loading. */
  async function session(source: Kernel) {
    const recorder = await Recorder.attach(source.client);
    await runCell(source.client, 'import numpy as np\nnoise = np.random.rand(1000)');
    await runCell(source.client, 'squares = [i * i for i in range(1000)]\ngen = (s for s in squares)');
    const saved = await checkpoint(recorder, new LocalStore(join(sandbox.dir(), 'store')));
    const decisions = Object.fromEntries(saved.checkpoint.manifest.body.plan.variables.map((v) => [v.name, v.decision]));
    expect(decisions).toMatchObject({ noise: 'serialize', squares: 'recompute', gen: 'recompute' });
    return saved.checkpoint;
  }

  it('without xxhash anywhere: sha256 fingerprints, and what reran is verified equal', async () => {
    const env = await withoutXxhash();
    const saved = await session(await sandbox.kernel(env));
    expect(saved.manifest.body.fingerprints.algo).toBe('sha256');
    const target = await sandbox.kernel(env);
    const report = await restore(saved, target.client);
    const outcome = Object.fromEntries(report.verification.variables.map((v) => [v.name, v.outcome]));
    expect(outcome).toMatchObject({ noise: 'restored', squares: 'recomputed-equal' });
    expect(report.verification.ok).toBe(true);
  });

  it('xxh3-128 where xxhash is installed; a target without it restores everything and says what it could not compare', async () => {
    const saved = await session(await sandbox.kernel());
    expect(saved.manifest.body.fingerprints.algo, 'the test venv has xxhash (python-shim/requirements-dev.txt)').toBe('xxh3-128');
    const target = await sandbox.kernel(await withoutXxhash());
    const report = await restore(saved, target.client);
    const byName = new Map(report.verification.variables.map((v) => [v.name, v]));
    expect(byName.get('noise')?.outcome).toBe('restored'); // proven by its blob's sha256 checksum
    expect(byName.get('squares')?.outcome).toBe('unverifiable');
    expect(byName.get('squares')?.detail).toContain('xxh3-128, which this kernel cannot compute (install xxhash');
    expect(report.verification.totals.lost).toBe(0);
    expect(report.verification.ok).toBe(true);
    expect(await valueOf(target.client, '(len(noise), squares[-1], next(gen))')).toBe('(1000, 998001, 0)');
  });
});
