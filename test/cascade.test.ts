// No rerun cascades (issue 17), on real kernels: the two field reports reproduced in small (the
// full notebooks are benchmarks/notebooks/tricky/import_compute_cells.ipynb and
// figure_weakref_cascade.ipynb), a shared group split around its unpicklable members, and
// verification that does not fingerprint what a load proves.
import { describe, expect, it } from 'vitest';
import { restore } from '@nbferry/migrate';
import { launchKernel } from '@nbferry/kernel';
import { Session, useMigrationSandbox } from './support/migration.js';
import { testPython } from './support/python.js';

const FRAME = 'pd.DataFrame({"age": [22.0, None, 35.0, 41.0] * 50, "fare": [7.25, 71.3, 8.05, 53.1] * 50})';

describe('no rerun cascades', () => {
  const { start, move } = useMigrationSandbox();

  it('a cell that imports and computes is not rerun for its modules: they are imported by name', async () => {
    const source = await start();
    await source.run(
      `import json\nimport numpy as np\nimport pandas as pd\nraw = ${FRAME}\nmeta = json.dumps({"rows": len(raw)})`,
      'raw["age"] = raw["age"].fillna(raw["age"].median())',
      'import math\nodds = {k: math.exp(v) for k, v in {"a": 0.5, "b": -1.0}.items()}\nraw["fare"] = raw["fare"].map(math.log1p)',
      'import collections\ncounts = collections.Counter(raw["age"].round())\nraw["rank"] = raw["fare"].rank()',
    );
    const m = await move(source);
    expect(m.report.plan.rerun).toEqual([]);
    for (const name of ['json', 'np', 'pd', 'math', 'collections']) {
      expect(m.report.plan.variables.find((v) => v.name === name)!.decision, name).toBe('serialize');
    }
    expect(m.report.verification.totals.lost).toBe(0);
    expect(m.report.verification.totals['recomputed-different']).toBe(0);
    expect(await m.target.eval('(np is __import__("numpy"), math.log1p(0.0), len(raw.columns), meta)')).toBe(
      `(True, 0.0, 3, '{"rows": 200}')`,
    );
  });

  it('a figure group holding weakrefs to its own artists is saved whole: no cell upstream of it reruns', async () => {
    const source = await start();
    await source.run(
      `import time\nimport weakref\nimport numpy as np\nimport pandas as pd\nimport matplotlib\nmatplotlib.use("Agg")\nimport matplotlib.pyplot as plt`,
      // The data cells take a while (sleep), as the field report's did: rerunning them is the cascade.
      `time.sleep(0.8)\ntrain = ${FRAME}`,
      'time.sleep(0.8)\ntrain["age"] = train["age"].fillna(train["age"].median())',
      'class HoverCursor:\n    def __init__(self, ax):\n        self.ax = weakref.ref(ax)\n        self.tracked = weakref.WeakValueDictionary()\n    def track(self, label, artist):\n        self.tracked[label] = artist',
      'fig, axes = plt.subplots(1, 2)\ncursor = HoverCursor(axes[0])',
      'counts, edges, patches = axes[0].hist(train["age"], bins=10)\ncursor.track("age", patches[0])',
      'time.sleep(0.8)\ntrain["fare_log"] = np.log1p(train["fare"])',
      'points = axes[1].scatter(train["age"], train["fare_log"])\ncursor.track("fare", points)',
      'train["bin"] = pd.cut(train["age"], bins=[0, 18, 35, 120], labels=False)',
    );
    const m = await move(source);
    const cursor = m.report.plan.variables.find((v) => v.name === 'cursor')!;
    expect(m.saved.checkpoint.manifest.body.problem.groups.find((g) => g.names.includes('cursor'))!.serializable).toBe(true);
    expect(cursor.decision).toBe('serialize');
    // Only the import-only cell (it replays matplotlib.use) may rerun; nothing that computed.
    expect(m.report.plan.rerun.length).toBeLessThanOrEqual(1);
    expect(m.report.verification.totals.lost).toBe(0);
    expect(await m.target.eval('(cursor.ax() is axes[0], cursor.tracked["fare"] is points, axes[0].figure is fig)')).toBe(
      '(True, True, True)',
    );
  });

  it('an unpicklable member of a shared group is recomputed alone: the rest is loaded, and the objects stay shared', async () => {
    const source = await start();
    await source.run(
      // Unseeded and slow: rerunning it would both take time and draw other numbers.
      'import time, threading\nimport numpy as np\ntime.sleep(0.8)\nrows = np.random.rand(100_000)',
      'state = {"rows": rows, "lock": threading.Lock()}',
      'class Holder:\n    def __init__(self, data):\n        self.data = data\n        self.gen = (x for x in data)\nh = Holder(rows)',
      'total = float(rows.sum())',
    );
    const m = await move(source);
    const groups = m.saved.checkpoint.manifest.body.problem.groups;
    const saveable = groups.find((g) => g.names.includes('rows'))!;
    expect(saveable).toMatchObject({ serializable: true, names: ['rows'] });
    expect(saveable.splitOf).toBeDefined();
    const rest = groups.find((g) => g.id === saveable.splitOf)!;
    expect(rest.serializable).toBe(false);
    expect([...rest.names].sort()).toEqual(['Holder', 'h', 'state']);
    const rows = m.report.plan.variables.find((v) => v.name === 'rows')!;
    expect(rows.decision).toBe('serialize');
    expect(m.report.plan.rerun).not.toContain(rows.producedBy);
    expect(m.outcome('rows')).toBe('restored');
    expect(m.report.verification.totals.lost).toBe(0);
    expect(m.report.verification.totals['recomputed-different']).toBe(0);
    expect(await m.target.eval('(state["rows"] is rows, h.data is rows, bool(next(h.gen) == rows[0]), float(rows.sum()) == total)')).toBe(
      '(True, True, True, True)',
    );
  });

  it('a split group whose recomputed half no longer shares objects with the loaded one is reported, not hidden', async () => {
    const source = await start();
    await source.run(
      'import time, threading\nimport numpy as np',
      'time.sleep(0.8)\nrows = np.arange(50_000.0)\nnp._nbf_last = rows',
      // Shares rows through a module's attribute, which no variable names: in a new kernel the
      // rerun finds none and makes an equal array of its own.
      'state = {"rows": np.__dict__.get("_nbf_last", np.arange(50_000.0)), "lock": threading.Lock()}',
    );
    expect(await source.eval('state["rows"] is rows')).toBe('True');
    const m = await move(source);
    const groups = m.saved.checkpoint.manifest.body.problem.groups;
    expect(groups.find((g) => g.names.includes('rows'))).toMatchObject({ serializable: true, names: ['rows'] });
    expect(m.report.plan.variables.find((v) => v.name === 'rows')!.decision).toBe('serialize');
    expect(m.report.plan.variables.find((v) => v.name === 'state')!.decision).toBe('recompute');
    expect(await m.target.eval('state["rows"] is rows')).toBe('False');
    const state = m.report.verification.variables.find((v) => v.name === 'state')!;
    expect(state.outcome).toBe('recomputed-different');
    expect(state.detail).toMatch(/no longer shares objects with rows/);
    expect(m.report.verification.ok).toBe(false);
  });

  it('a weakref to an object outside its group is reported with the reason and its group recomputed', async () => {
    const source = await start();
    await source.run(
      'import sys, weakref\nclass Canvas:\n    pass\nsys._nbf_canvas = Canvas()  # held by a module, not by a variable',
      'hover = weakref.ref(sys._nbf_canvas)\nlabel = "hover"',
    );
    const m = await move(source);
    const hover = m.report.plan.variables.find((v) => v.name === 'hover')!;
    expect(hover.decision).toBe('recompute');
    expect(hover.reason).toMatch(/weakref to an object outside its group/);
    expect(m.report.verification.totals.lost).toBe(0);
    expect(await m.target.eval('hover() is sys._nbf_canvas')).toBe('True');
  });
});

describe('verification that costs less', () => {
  const { start, store } = useMigrationSandbox();

  it('does not fingerprint again what an intact load proves, and still compares what it cannot prove', async () => {
    const source = await start();
    await source.run(
      // Slow cells (sleep), so the plan loads rather than reruns them.
      'import time\nimport numpy as np, pandas as pd\ntime.sleep(0.4)\nbig = np.arange(2_000_000, dtype=np.float64)\nframe = pd.DataFrame({"x": range(5)})\nplain = {"k": [1, 2], "s": {3, 1}}',
      'time.sleep(0.4)\nclass Cached:\n    def __init__(self):\n        self.v = 7\n    def __getstate__(self):\n        return {"v": self.v}\nc = Cached()',
      'gen = (i for i in range(3))',
    );
    const { checkpoint } = await import('@nbferry/migrate');
    const { LocalStore } = await import('@nbferry/store');
    const saved = await checkpoint(source.recorder, new LocalStore(store()));
    expect(saved.checkpoint.manifest.body.fingerprints.faithful).toEqual(expect.arrayContaining(['big', 'frame', 'plain']));
    expect(saved.checkpoint.manifest.body.fingerprints.faithful).not.toContain('c');

    for (const fullVerification of [false, true]) {
      const kernel = await launchKernel({ python: testPython(), cwd: source.dir });
      try {
        const report = await restore(saved.checkpoint, kernel.client, { fullVerification });
        const detail = (name: string) => report.verification.variables.find((v) => v.name === name)!;
        expect(report.verification.ok).toBe(true);
        for (const name of ['big', 'frame', 'plain', 'c']) expect(detail(name).outcome, name).toBe('restored');
        expect(detail('big').detail).toBe(fullVerification ? 'loaded' : 'loaded intact (checksum ok, unpickled; its types rebuild exactly)');
        expect(detail('c').detail).toBe('loaded'); // a custom __getstate__: compared by fingerprint
        expect(detail('gen').outcome).toBe('unverifiable');
        const target = Session.of(kernel, report.recorder, source.dir);
        expect(await target.eval('(float(big.sum()), c.v, sorted(plain["s"]))')).toBe('(1999999000000.0, 7, [1, 3])');
      } finally {
        await kernel.dispose();
      }
    }
  });
});
