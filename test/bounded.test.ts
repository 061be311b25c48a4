// Bounded and typed, on real kernels: user code that replaces what the kernel or the shim relies
// on, hostile objects and blocking hooks never hang or abort a checkpoint; waits fail typed.
import { describe, expect, it } from 'vitest';
import { checkpoint } from '@nbferry/migrate';
import { ShimNoReplyError, ShimTimeoutError, defaultShimTimeoutMs } from '@nbferry/recorder';
import { LocalStore } from '@nbferry/store';
import { useMigrationSandbox } from './support/migration.js';

const HOSTILE = `
class Sleepy:
    sec = 0  # raised later, silently
    def __reduce__(self):
        import time
        time.sleep(Sleepy.sec)
        return (Sleepy, ())
class Refuser:
    def __getattribute__(self, name):
        raise RuntimeError('no attribute for you: ' + name)
class Counted:
    calls = 0
    def __init__(self):
        self.items = [1, 2, 3]
    def __getstate__(self):
        type(self).calls += 1
        self.items.append(len(self.items))  # mutates its object each time it runs
        return dict(self.__dict__)
`;

describe('bounded and typed', () => {
  const { start, move, store } = useMigrationSandbox();

  it('a cell that rebinds json.dumps, os.replace or pickle.dumps does not stop checkpoint or restore', async () => {
    const source = await start();
    await source.run('import random\nrandom.seed(1)\nvalues = [random.random() for _ in range(5)]\ntable = {"a": values}');
    await source.kernel.client.execute('kept = list(range(10))', { silent: true }); // unknown provenance: saved
    await source.run('import json, os, pickle\njson.dumps = lambda *a, **k: 1 / 0\nos.replace = lambda *a, **k: None\npickle.dumps = None');
    const m = await move(source);
    expect(m.report.verification.totals.lost).toBe(0);
    expect(m.outcome('kept')).toBe('restored');
    expect(await m.target.eval('(kept[-1], len(table["a"]))')).toBe('(9, 5)');
  });

  it('an object whose every attribute access raises is contained to its own group', async () => {
    const source = await start();
    await source.run(HOSTILE);
    await source.kernel.client.execute('r = Refuser()\nkept = [1, 2, 3]', { silent: true });
    const saved = await checkpoint(source.recorder, new LocalStore(store()));
    const unrecoverable = saved.checkpoint.manifest.body.unrecoverable.find((u) => u.name === 'r');
    expect(unrecoverable?.reason).toMatch(/no attribute for you/);
    expect(saved.plan.serialize.length).toBeGreaterThan(0);
  });

  it('a __reduce__ that sleeps 30 s is given up by measure, not waited on', async () => {
    const source = await start();
    await source.run(HOSTILE, 's = Sleepy()\nnumbers = list(range(100))');
    await source.kernel.client.execute('Sleepy.sec = 30', { silent: true });
    const saved = await checkpoint(source.recorder, new LocalStore(store()));
    // Measure gives the hook its 2 s budget, once for the fingerprint and once for the size.
    expect(saved.timings.measureMs).toBeLessThan(20_000);
    expect(saved.checkpoint.manifest.body.fingerprints.values.s).toBeNull();
  });

  it("a user's mutating __getstate__ runs at most once per checkpoint", async () => {
    const source = await start();
    await source.run(HOSTILE);
    await source.kernel.client.execute('c = Counted()', { silent: true }); // unknown provenance: saved
    const before = Number(await source.eval('Counted.calls'));
    const saved = await checkpoint(source.recorder, new LocalStore(store()));
    expect(saved.plan.variables.find((v) => v.name === 'c')?.decision).toBe('serialize');
    expect(Number(await source.eval('Counted.calls')) - before).toBeLessThanOrEqual(1);
  });

  it('a shim that cannot reply fails fast with ShimNoReplyError, not a hang', async () => {
    const source = await start();
    await source.kernel.client.execute("import sys\nsys.modules['nbferry_shim.channel'].Channel.send = lambda *a, **k: None", { silent: true });
    const error = await source.recorder.request('history', { since: 0 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ShimNoReplyError);
    expect((error as Error).message).toMatch(/"history".*no reply/);
  });

  it('a shim request to a kernel busy in a cell fails with ShimTimeoutError naming the op and the option', async () => {
    const source = await start();
    const busy = source.kernel.client.execute('import time; time.sleep(8)');
    const error = await source.recorder.request('variables', {}, { timeoutMs: 1500 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ShimTimeoutError);
    expect((error as Error).message).toMatch(/"variables".*1500 ms.*timeoutMs/);
    await busy;
    expect(defaultShimTimeoutMs('history')).toBeLessThan(defaultShimTimeoutMs('save'));
  });
});
