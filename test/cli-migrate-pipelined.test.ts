// nbferry migrate (issue 17): restores while the checkpoint is written (pipelined, the default with a
// local store), and with --auto-checkpoint moves only what the last cells changed (pre-copy).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nbferry } from './support/cli.js';
import { notebook } from './support/notebook.js';
import { testPython } from './support/python.js';
import { assertDocument } from './support/schemas.js';

interface MigrateDoc {
  ok: boolean;
  checkpoint: { committed: boolean; bytes: number };
  restore: { variables: { name: string; outcome: string }[] };
}

describe('nbferry migrate, pipelined and pre-copied', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nbf-cli-pipe-'));
    // Random arrays (a rerun would not reproduce them cheaply: 3 s of sleep) in separate groups, then a small change last.
    await writeFile(
      join(dir, 'nb.ipynb'),
      notebook([
        'import numpy as np, time\ntime.sleep(1)\nbig1 = np.random.default_rng(1).random(4_000_000)',
        'time.sleep(1)\nbig2 = np.random.default_rng(2).random(4_000_000)',
        'time.sleep(1)\nbig3 = np.random.default_rng(3).random(4_000_000)',
        'small = [1, 2, 3]',
      ]),
    );
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('restores pipelined by default, and verifies every variable', async () => {
    const result = await nbferry(['migrate', join(dir, 'nb.ipynb'), '--python', testPython()], { timeoutMs: 180_000 });
    expect(result.code, result.stderr + result.stdout).toBe(0);
    const line = result.stdout.match(/pipelined: (\d+) groups loaded, (\d+) of them while the source was still saving/);
    expect(line, result.stdout).not.toBeNull();
    // How many overlap the save depends on when the target is ready (test/pipelined.test.ts shows the overlap with a ready one).
    expect(Number(line![1])).toBeGreaterThanOrEqual(3);
    expect(result.stdout).toMatch(/Nothing was lost/);
  }, 240_000);

  it('with --auto-checkpoint, moves only what changed since the last cell checkpointed', async () => {
    const store = join(dir, 'store');
    const result = await nbferry(['migrate', join(dir, 'nb.ipynb'), '--python', testPython(), '--store', store, '--auto-checkpoint'], { timeoutMs: 180_000 });
    expect(result.code, result.stderr + result.stdout).toBe(0);
    expect(result.stdout).toMatch(/auto-checkpoints: 4 committed/);
    // Every group was stored by an auto-checkpoint: the migration's checkpoint writes none again.
    expect(result.stdout, result.stdout).toMatch(/(\d+) groups already stored \(not written again\)/);
    const line = result.stdout.match(/pipelined: (\d+) groups loaded, \d+ of them while the source was still saving \(save [^)]*\), (\d+) already stored before the migration/);
    expect(line, result.stdout).not.toBeNull();
    expect(Number(line![2])).toBe(Number(line![1]));
  }, 240_000);

  it('--no-pipeline and --json: checkpoint then restore, the document as before', async () => {
    const result = await nbferry(['migrate', join(dir, 'nb.ipynb'), '--python', testPython(), '--no-pipeline', '--json'], { timeoutMs: 180_000 });
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as MigrateDoc;
    assertDocument('migrate', report);
    expect(report.ok).toBe(true);
    expect(report.restore.variables.find((v) => v.name === 'big2')?.outcome).toBe('restored');
  }, 240_000);
});
