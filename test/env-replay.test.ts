// Environment reads replayed (issue 17, no rerun cascades): a cell that looks up environment
// variables is rerun in the new kernel with the values it saw in the old one, then the new kernel's
// environment is put back. Before, such a cell (cell 1 of most notebooks: a data path, a size)
// counted as nondeterministic, and everything downstream of it was saved instead of recomputed.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkpoint, restore } from '@nbferry/migrate';
import { Recorder } from '@nbferry/recorder';
import { LocalStore } from '@nbferry/store';
import { runCell, useKernelSandbox, valueOf } from './support/kernel-sandbox.js';

describe('environment reads replayed on rerun', () => {
  const sandbox = useKernelSandbox('nbf-env-replay-');

  it('reruns a cell that read the environment with the values it read, and leaves the new kernel its own', async () => {
    const source = await sandbox.kernel({ NBF_SCALE: '3', NBF_UNSET: undefined });
    const recorder = await Recorder.attach(source.client);
    // `gen` cannot be pickled: only rerunning cell 1 brings it back, and the generator took its
    // factor from the environment when it was created (the first iterable is evaluated at once).
    await runCell(source.client, 'import os\nscale = int(os.environ.get("NBF_SCALE", "1"))\nmode = os.getenv("NBF_UNSET", "off")\ngen = (i * s for s in [scale] for i in range(5))\nfirst = next(gen)');
    await runCell(source.client, 'total = scale * 10');
    const saved = await checkpoint(recorder, new LocalStore(join(sandbox.dir(), 'store')));
    const body = saved.checkpoint.manifest.body;
    const cell1 = body.problem.cells[0]!;
    expect(cell1.nondeterministic).toBe(false);
    expect(body.plan.rerun).toContain(cell1.id);
    expect(body.rng.find((s) => s.seq === cell1.id)?.env).toBeInstanceOf(Uint8Array);
    // Not tainted by a nondeterministic rerun: what cell 1 computed needs no save.
    expect(body.plan.variables.find((v) => v.name === 'scale')!.decision).toBe('recompute');

    // Another kernel, another environment.
    const target = await sandbox.kernel({ NBF_SCALE: '5', NBF_UNSET: 'on' });
    const report = await restore(saved.checkpoint, target.client);
    expect(report.verification.totals.lost).toBe(0);
    expect(report.verification.totals['recomputed-different']).toBe(0);
    expect(await valueOf(target.client, '(scale, mode, next(gen), total)')).toBe("(3, 'off', 3, 30)");
    expect(await valueOf(target.client, '(os.environ["NBF_SCALE"], os.environ.get("NBF_UNSET"))')).toBe("('5', 'on')");
  });

  it('does not replay a variable whose name looks like a credential: the cell stays nondeterministic', async () => {
    const source = await sandbox.kernel({ NBF_API_TOKEN: 'not-for-the-store' });
    const recorder = await Recorder.attach(source.client);
    await runCell(source.client, 'import os\nheaders = {"auth": len(os.environ["NBF_API_TOKEN"])}\ngen = (i for i in range(3))');
    const saved = await checkpoint(recorder, new LocalStore(join(sandbox.dir(), 'store')));
    const body = saved.checkpoint.manifest.body;
    expect(body.problem.cells[0]!.nondeterministic).toBe(true);
    expect(body.rng.every((s) => s.env === undefined)).toBe(true);
    // Rerun for `gen` all the same; what it computed from the environment is loaded after it.
    expect(body.plan.variables.find((v) => v.name === 'headers')!.decision).toBe('serialize');
  });
});
