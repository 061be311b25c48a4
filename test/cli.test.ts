// The nbferry command end to end, on real kernels: run --checkpoint, inspect, restore, checkpoint, migrate.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachKernel, launchKernel } from '@nbferry/kernel';
import { nbferry } from './support/cli.js';
import { testPython } from './support/python.js';

function notebook(cells: string[], tags: Record<number, string[]> = {}): string {
  return JSON.stringify({
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: 'python3' } },
    cells: cells.map((source, i) => ({ cell_type: 'code', id: `c${i}`, metadata: { tags: tags[i] ?? [] }, outputs: [], execution_count: null, source })),
  });
}

describe('nbferry CLI', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nbf-cli-'));
    await writeFile(join(dir, 'input.csv'), 'a\n1\n2\n3\n');
    await writeFile(
      join(dir, 'nb.ipynb'),
      notebook(
        [
          'import csv, time\nrows = [int(r["a"]) for r in csv.DictReader(open("input.csv"))]',
          'time.sleep(0.3)\ntotal = sum(rows)',
          'gen = iter(rows)',
          'raise RuntimeError("expected")',
          'after = total + 1',
        ],
        { 3: ['raises-exception'] },
      ),
    );
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('migrate: runs past a declared failing cell, restores, verifies, and reports every variable as JSON', async () => {
    const result = await nbferry(['migrate', join(dir, 'nb.ipynb'), '--python', testPython(), '--json']);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as { ok: boolean; variables: { name: string; outcome: string }[] };
    expect(report.ok).toBe(true);
    const outcomes = Object.fromEntries(report.variables.map((v) => [v.name, v.outcome]));
    expect(Object.keys(outcomes).sort()).toEqual(['after', 'csv', 'gen', 'rows', 'time', 'total']);
    expect(outcomes.total).toMatch(/restored|recomputed-equal/);
    expect(outcomes.gen).not.toBe('lost');
  });

  it('run --checkpoint, inspect, then restore into a fresh kernel that outlives the command', async () => {
    const store = join(dir, 'store');
    const run = await nbferry(['run', join(dir, 'nb.ipynb'), '--checkpoint', store, '--python', testPython(), '--json']);
    expect(run.code, run.stderr).toBe(0);
    const inspected = await nbferry(['inspect', store, '--json']);
    expect(inspected.code, inspected.stderr).toBe(0);
    const info = JSON.parse(inspected.stdout) as { blobs: { intact: boolean }[]; environment: { python: string } };
    expect(info.blobs.every((b) => b.intact)).toBe(true);
    expect(info.environment.python).toMatch(/^3\./);

    const restored = await nbferry(['restore', store, '--python', testPython(), '--json']);
    expect(restored.code, restored.stderr).toBe(0);
    const { connectionFile, totals } = JSON.parse(restored.stdout) as { connectionFile: string; totals: { lost: number } };
    expect(totals.lost).toBe(0);
    // The restored kernel is still running after the command exited: attach and use it.
    const kernel = await attachKernel(connectionFile);
    try {
      const check = await kernel.client.execute('print(after, sum(rows))');
      expect(check.stdout).toBe('7 6\n');
    } finally {
      await kernel.client.shutdown();
    }
  });

  it('checkpoint --connection-file checkpoints a running kernel and leaves it running', async () => {
    const kernel = await launchKernel({ python: testPython(), cwd: dir });
    try {
      await kernel.client.execute('import time\ntime.sleep(0.2)\nanswer = 42');
      const store = join(dir, 'live-store');
      const result = await nbferry(['checkpoint', '--connection-file', kernel.connectionFile, '--out', store, '--json']);
      expect(result.code, result.stderr).toBe(0);
      expect((JSON.parse(result.stdout) as { bytes: number }).bytes).toBeGreaterThan(0);
      expect((await kernel.client.execute('answer')).outputs[0]).toMatchObject({ data: { 'text/plain': '42' } });
    } finally {
      await kernel.dispose();
    }
  });

  it('fails with a clear message and status for a damaged store and for bad usage', async () => {
    const missing = await nbferry(['restore', join(dir, 'no-such-store'), '--python', testPython()]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/CheckpointNotFoundError: no checkpoint at .*no-such-store/);
    const usage = await nbferry(['migrate']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/which notebook/);
  });
});
