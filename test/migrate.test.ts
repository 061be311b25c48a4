// End-to-end: record real kernels, checkpoint, restore into fresh kernels, verify.
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { launchKernel } from '@nbferry/kernel';
import { checkpoint, migrateLive, restore } from '@nbferry/migrate';
import { Recorder } from '@nbferry/recorder';
import { CorruptCheckpointError, LocalStore, openCheckpoint } from '@nbferry/store';
import { useMigrationSandbox } from './support/migration.js';
import { testPython } from './support/python.js';

describe('checkpoint and restore', () => {
  const { start, move, store: currentStore } = useMigrationSandbox();

  it('brings back numpy, pandas, a fitted model, user classes, functions and lambdas, all verified', async () => {
    const source = await start();
    await source.run(
      'import numpy as np\nimport pandas as pd\nfrom sklearn.linear_model import LogisticRegression',
      'rng = np.random.default_rng(0)\nX = rng.normal(size=(200, 3))\ny = (X[:, 0] > 0).astype(int)',
      'df = pd.DataFrame(X, columns=list("abc"))\ndf["label"] = y',
      'model = LogisticRegression().fit(X, y)',
      'class Point:\n    def __init__(self, x): self.x = x\n    def norm(self): return abs(self.x)\np = Point(-3)',
      'def double(v): return 2 * v\nsquare = lambda v: v * v',
    );
    const m = await move(source);
    expect(m.report.verification.totals.lost).toBe(0);
    for (const name of ['X', 'y', 'df', 'model', 'p', 'double', 'square', 'np', 'pd']) {
      expect(['restored', 'recomputed-equal'], name).toContain(m.outcome(name));
    }
    expect(await m.target.eval('float(model.score(X, y))')).toBe(await source.eval('float(model.score(X, y))'));
    expect(await m.target.eval('(p.norm(), double(4), square(5), df.shape)')).toBe('(3, 8, 25, (200, 4))');
  });

  it('recomputes generators and open files, and keeps views and aliases sharing memory', async () => {
    const source = await start();
    await writeFile(join(source.dir, 'notes.txt'), 'line1\nline2\n');
    await source.run(
      'import numpy as np\na = np.arange(100.0)\nview = a[10:20]\npair = [a, 1]',
      'gen = (i * i for i in range(5))',
      'fh = open("notes.txt")',
      'a[10] = -1',
    );
    const m = await move(source);
    expect(m.report.verification.totals.lost).toBe(0);
    expect(await m.target.eval('(view.base is a, pair[0] is a, float(view[0]))')).toBe('(True, True, -1.0)');
    expect(await m.target.eval('list(gen)')).toBe('[0, 1, 4, 9, 16]');
    expect(await m.target.eval('fh.readline()')).toBe("'line1\\n'");
    const gen = m.report.plan.variables.find((v) => v.name === 'gen')!;
    expect(gen.decision).toBe('recompute');
  });

  it('restores unseeded randomness to the same values and never reruns a cell that wrote a file', async () => {
    const source = await start();
    await source.run(
      'import numpy as np, random',
      'noise = np.random.rand(5)\ncoin = random.random()',
      'with open("log.txt", "a") as f:\n    f.write("ran\\n")\nlogged = True',
    );
    const m = await move(source);
    expect(m.outcome('noise')).toMatch(/restored|recomputed-equal/);
    expect(m.outcome('coin')).toMatch(/restored|recomputed-equal/);
    expect(await m.target.eval('list(noise)')).toBe(await source.eval('list(noise)'));
    expect(await readFile(join(source.dir, 'log.txt'), 'utf8')).toBe('ran\n');
  });

  it('records in-place mutation through aliases and functions, and restores the mutated value', async () => {
    const source = await start();
    await source.run(
      'data = {"n": [1, 2]}\nalias = data["n"]',
      'def grow():\n    alias.append(3)',
      'grow()',
      'import pandas as pd\nframe = pd.DataFrame({"a": [1, 2]})',
      'frame["a"] += 1',
    );
    const m = await move(source);
    expect(m.report.verification.totals.lost).toBe(0);
    expect(await m.target.eval('(data, alias is data["n"], list(frame["a"]))')).toBe("({'n': [1, 2, 3]}, True, [2, 3])");
  });

  it('checkpoints a restored kernel again (chained migrations)', async () => {
    const source = await start();
    await source.run('import numpy as np\nbase = np.ones(1000)', 'total = float(base.sum())');
    const first = await move(source);
    await first.target.run('total2 = total * 2\nbase += 1');
    const second = await move(first.target);
    expect(second.report.verification.totals.lost).toBe(0);
    expect(await second.target.eval('(total, total2, float(base[0]))')).toBe('(1000.0, 2000.0, 2.0)');
  });

  it('falls back to recomputing when a blob is damaged, and reports it', async () => {
    const source = await start();
    // The sleep makes rerunning dearer than loading, so the plan saves `big`.
    await source.run('import numpy as np, time', 'time.sleep(0.5)\nbig = np.arange(300_000)', 'small = int(big[-1])');
    const saved = await checkpoint(source.recorder, new LocalStore(currentStore()), { costs: { objective: 'restore' } });
    const blob = saved.checkpoint.manifest.blobs.find((b) => b.variables.includes('big'));
    expect(blob, 'the plan saves big').toBeDefined();
    // Format 3 gives the array's buffer a chunk of its own: damage that one (the blob's largest file).
    const files = saved.checkpoint.blobFiles(blob!);
    const sizes = await Promise.all(files.map(async (file) => (await stat(file)).size));
    const path = files[sizes.indexOf(Math.max(...sizes))]!;
    const bytes = await readFile(path);
    bytes[bytes.length >> 1] ^= 0xff;
    await writeFile(path, bytes);
    const kernel = await launchKernel({ python: testPython(), cwd: source.dir });
    try {
      const report = await restore(currentStore(), kernel.client);
      expect(report.fallbacks.join('\n')).toMatch(/checksum/);
      expect(report.verification.variables.find((v) => v.name === 'big')!.outcome).toBe('recomputed-equal');
      expect(report.verification.totals.lost).toBe(0);
    } finally {
      await kernel.dispose();
    }
  });

  it('refuses a tampered manifest with a typed error and keeps the earlier checkpoint readable', async () => {
    const source = await start();
    await source.run('x = 1');
    const first = await checkpoint(source.recorder, new LocalStore(currentStore()));
    await source.run('x = 2');
    const second = await checkpoint(source.recorder, new LocalStore(currentStore()));
    const manifest = join(second.checkpoint.dir, 'manifest.nbf');
    const bytes = await readFile(manifest);
    bytes[40] ^= 0x01;
    await writeFile(manifest, bytes);
    await expect(openCheckpoint(currentStore())).rejects.toBeInstanceOf(CorruptCheckpointError);
    expect((await openCheckpoint(first.checkpoint.dir)).manifest.id).toBe(first.checkpoint.manifest.id);
    expect(await readdir(join(currentStore(), 'checkpoints'))).toHaveLength(2);
  });

  it('restores a kernel that was in use before nbferry attached, modules included', async () => {
    const used = await launchKernel({ python: testPython() });
    const target = await launchKernel({ python: testPython() });
    try {
      await used.client.execute('import numpy as np\nimport collections as co\ndata = np.arange(5) * 2\ncounts = co.Counter("hello")');
      const recorder = await Recorder.attach(used.client); // everything above has unknown provenance
      await used.client.execute('more = data.sum()');
      const saved = await checkpoint(recorder, new LocalStore(currentStore()));
      const report = await restore(saved.checkpoint, target.client);
      expect(report.verification.totals.lost).toBe(0);
      const check = await target.client.execute('', { silent: true, userExpressions: { v: '(np.__name__, int(more), counts["l"])' } });
      expect(check.userExpressions.v).toMatchObject({ status: 'ok', data: { 'text/plain': "('numpy', 20, 2)" } });
    } finally {
      await used.dispose();
      await target.dispose();
    }
  });

  it('moves state live between two running kernels without touching the source', async () => {
    const source = await start();
    await source.run('import numpy as np, time', 'time.sleep(0.5)\nweights = np.linspace(0, 1, 50_000)', 'label = "v1"');
    const kernel = await launchKernel({ python: testPython(), cwd: source.dir });
    try {
      const report = await migrateLive(source.recorder, kernel.client, { costs: { objective: 'restore' } });
      expect(report.verification.totals.lost).toBe(0);
      expect(report.bytesMoved).toBeGreaterThan(0);
      const check = await kernel.client.execute('', { silent: true, userExpressions: { v: '(float(weights[-1]), label)' } });
      expect(check.userExpressions.v).toMatchObject({ status: 'ok', data: { 'text/plain': "(1.0, 'v1')" } });
      expect(await source.eval('label')).toBe("'v1'");
    } finally {
      await kernel.dispose();
    }
  });
});
