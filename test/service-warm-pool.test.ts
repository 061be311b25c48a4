// Issue 17, warm targets: a service with `warmKernels` restores into a pooled kernel (started, shim
// attached, modules imported before the request) when one is ready, moved into the requested
// directory; otherwise, or when the pooled kernel is unusable, it launches one as before. Real kernels.
import { mkdir, mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { attachKernel, launchKernel, type Kernel } from '@nbferry/kernel';
import type { CheckpointBody } from '@nbferry/migrate';
import { KernelService, ServiceMetrics, type RestoreOutcome } from '@nbferry/service';
import { runCell, valueOf } from './support/kernel-sandbox.js';
import { killAll, pidAlive, waitUntil } from './support/processes.js';
import { parseExposition, sampleValue } from './support/prometheus.js';
import { testPython } from './support/python.js';

describe('KernelService with a warm kernel pool', () => {
  let dir = '';
  let service: KernelService | undefined;
  const kernels: Kernel[] = [];
  /** Kernels the service handed out (they outlive it, as users' kernels must). */
  const handedOut: number[] = [];
  /** Pids of the pool's kernels, in the order they became ready. */
  const pooled: number[] = [];

  beforeEach(async () => {
    dir = await realpath(await mkdtemp(join(tmpdir(), 'nbferry-warm-pool-')));
    pooled.length = 0;
  });
  afterEach(async () => {
    await service?.close();
    service = undefined;
    for (const kernel of kernels.splice(0)) await kernel.dispose().catch(() => {});
    killAll(handedOut.splice(0));
    await rm(dir, { recursive: true, force: true });
  });

  function startService(): KernelService {
    service = new KernelService({
      storeRoot: join(dir, 'stores'),
      python: testPython(),
      defaultCwd: dir,
      metrics: new ServiceMetrics({ processMetrics: false }),
      warmKernels: { size: 1, modules: ['numpy'], onReady: (warm) => pooled.push(warm.prepared.recorder.hello.pid) },
    });
    return service;
  }

  /** A kernel with some state, registered as `src` and checkpointed into the store `src`. */
  async function checkpointedSource(svc: KernelService): Promise<void> {
    const kernel = await launchKernel({ python: testPython(), cwd: dir });
    kernels.push(kernel);
    await runCell(kernel.client, 'import numpy as np\nweights = np.arange(12.0).reshape(3, 4)');
    await runCell(kernel.client, 'label = "warm"\ntotal = float(weights.sum())');
    await svc.registerConnectionFile(kernel.connectionFile, { id: 'src' });
    const saved = await svc.get('src').checkpoint({ trigger: 'api' });
    expect(saved.unrecoverable).toEqual([]);
  }

  /** The restored kernel runs in `cwd` and holds the source's values. */
  async function expectRestored(outcome: RestoreOutcome, cwd: string): Promise<void> {
    expect(outcome).toMatchObject({ ok: true, lost: [] });
    const target = await attachKernel(outcome.connectionFile);
    try {
      expect(await valueOf(target.client, '__import__("os").getcwd()')).toBe(`'${cwd}'`);
      expect(await valueOf(target.client, 'weights.tolist()')).toBe('[[0.0, 1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0], [8.0, 9.0, 10.0, 11.0]]');
      expect(await valueOf(target.client, '(label, total)')).toBe("('warm', 66.0)");
    } finally {
      await target.detach();
    }
  }

  async function scrape(svc: KernelService) {
    return parseExposition(await svc.metrics.registry.metrics());
  }

  it('restores into the ready pooled kernel (in the requested directory), launches one while the pool refills, and shuts the idle pooled kernel down on close', async () => {
    const svc = startService();
    await checkpointedSource(svc);
    await svc.warmPool!.whenFilled();
    expect(pooled).toHaveLength(1);
    expect(sampleValue(await scrape(svc), 'nbferry_warm_kernels_ready', {})).toBe(1);

    // Two restores at once: the pool holds one ready kernel, its replacement is still starting.
    const cwdA = join(dir, 'a');
    const cwdB = join(dir, 'b');
    await mkdir(cwdA);
    await mkdir(cwdB);
    const outcomes = await Promise.all([svc.restore('src', undefined, { id: 'a', cwd: cwdA }), svc.restore('src', undefined, { id: 'b', cwd: cwdB })]);
    handedOut.push(...outcomes.map((o) => o.kernel.pid));
    expect(outcomes.map((o) => o.kernelFrom).sort()).toEqual(['launched', 'pool']);
    const fromPool = outcomes.find((o) => o.kernelFrom === 'pool')!;
    const launched = outcomes.find((o) => o.kernelFrom === 'launched')!;
    expect(fromPool.kernel.pid).toBe(pooled[0]);
    expect(launched.kernel.pid).not.toBe(pooled[0]);
    await expectRestored(outcomes[0]!, cwdA);
    await expectRestored(outcomes[1]!, cwdB);
    // Its next checkpoint records the directory it runs in now, not the pool's, and loses nothing
    // (the move was nbferry's own code, not an unrecorded cell).
    const next = await svc.get(fromPool.kernel.id).checkpoint({ trigger: 'api' });
    expect(next.unrecoverable).toEqual([]);
    const { manifest } = await svc.get(fromPool.kernel.id).store.open<CheckpointBody>(next.id);
    expect(manifest.body.cwd).toBe(fromPool.kernel.id === 'a' ? cwdA : cwdB);

    let samples = await scrape(svc);
    expect(sampleValue(samples, 'nbferry_fresh_kernels_total', { source: 'pool' })).toBe(1);
    expect(sampleValue(samples, 'nbferry_fresh_kernels_total', { source: 'launched' })).toBe(1);
    expect(sampleValue(samples, 'nbferry_checkpoints_total', { trigger: 'api', outcome: 'committed' })).toBe(2);

    // The pool refilled with a new kernel.
    await svc.warmPool!.whenFilled();
    expect(pooled).toHaveLength(2);
    samples = await scrape(svc);
    expect(sampleValue(samples, 'nbferry_warm_kernels_ready', {})).toBe(1);
    expect(sampleValue(samples, 'nbferry_failures_total', { operation: 'warm_kernel' }) ?? 0).toBe(0);

    const idle = pooled[1]!;
    expect(pidAlive(idle)).toBe(true);
    await svc.close();
    service = undefined;
    expect(await waitUntil(() => !pidAlive(idle), 10_000), `the idle pooled kernel ${idle} still runs after close()`).toBe(true);
    // The kernels it handed out are users' kernels: they keep running.
    for (const outcome of outcomes) expect(pidAlive(outcome.kernel.pid)).toBe(true);
  });

  it('migrates into the pooled kernel; a dead pooled kernel or another Python gets a launched kernel', async () => {
    const svc = startService();
    await checkpointedSource(svc);
    await svc.warmPool!.whenFilled();

    // A live migration takes the pooled kernel (the source's directory: it exists here).
    const moved = await svc.migrate('src', { id: 'moved' });
    handedOut.push(moved.kernel.pid);
    expect(moved).toMatchObject({ ok: true, lost: [], kernelFrom: 'pool', kernel: { pid: pooled[0] } });
    await expectRestored(moved, dir);

    // The replacement dies while it waits: it is never handed out, and the restore still works.
    await svc.warmPool!.whenFilled();
    const doomed = pooled[1]!;
    process.kill(doomed, 'SIGKILL');
    expect(await waitUntil(() => !pidAlive(doomed), 10_000)).toBe(true);
    const afterDeath = await svc.restore('src', undefined, { id: 'after-death' });
    handedOut.push(afterDeath.kernel.pid);
    expect(afterDeath.kernelFrom).toBe('launched');
    expect(afterDeath.kernel.pid).not.toBe(doomed);
    await expectRestored(afterDeath, dir);

    // A request for another Python than the pool's is launched with it (here: the same interpreter by another path).
    await svc.warmPool!.whenFilled();
    const other = `${dirname(testPython())}/./${basename(testPython())}`;
    expect(other).not.toBe(testPython());
    const otherPython = await svc.restore('src', undefined, { id: 'other-python', python: other });
    handedOut.push(otherPython.kernel.pid);
    expect(otherPython.kernelFrom).toBe('launched');
    await expectRestored(otherPython, dir);
    expect(svc.warmPool!.readyCount).toBe(1); // left for a request that can use it
  });
});
