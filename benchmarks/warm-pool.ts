/**
 * The service's warm pool (issue 17, `nbferry serve --warm-kernels`): POST /stores/{store}/restore
 * of one checkpoint, timed over HTTP as a platform would call it, by a service without a pool (each
 * restore launches a kernel) and by one with `--warm-kernels 1` (each restore takes the ready
 * kernel; the benchmark waits for the pool to refill between restores, so it measures a platform
 * whose pool keeps up with its requests). Alternating, --repeat times each; medians printed.
 *
 *   npx tsx --conditions=source benchmarks/warm-pool.ts [--repeat 5] [--mib 8] [--modules numpy,pandas]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchKernel } from '@nbferry/kernel';
import { startService, type CheckpointSummary, type RestoreOutcome, type RunningService } from '@nbferry/service';
import { BENCH_TOKEN, serviceBenchArgs, serviceCall } from './service-call.js';
import { testPython } from '../test/support/python.js';
import { fmtMs, median } from './stats.js';

const { repeat, mib, modules } = serviceBenchArgs();
const python = testPython();

const dir = await mkdtemp(join(tmpdir(), 'nbf-bench-warm-pool-'));
const storeRoot = join(dir, 'stores');
const source = await launchKernel({ python, cwd: dir });
const services: RunningService[] = [];
try {
  // A small data-science state: what the restored kernel must import (numpy, pandas) dominates.
  const cell = await source.client.execute(
    `import numpy as np, pandas as pd\nrng = np.random.default_rng(0)\nframe = pd.DataFrame(rng.normal(size=(${mib} * 2**17 // 8, 8)), columns=list("abcdefgh"))\nsummary = frame.describe()`,
  );
  if (cell.status !== 'ok') throw new Error(`source cell failed: ${cell.error?.ename}: ${cell.error?.evalue}`);
  const cold = await startService({ token: BENCH_TOKEN, port: 0, storeRoot, python, defaultCwd: dir, logger: false });
  services.push(cold);
  const warm = await startService({ token: BENCH_TOKEN, port: 0, storeRoot, python, defaultCwd: dir, logger: false, warmKernels: { size: 1, modules } });
  services.push(warm);
  await serviceCall(cold, 'POST', '/kernels', { connectionFile: source.connectionFile, id: 'src' });
  const saved = await serviceCall<CheckpointSummary>(cold, 'POST', '/kernels/src/checkpoint', {});
  console.log(`checkpoint ${saved.id}: ${(saved.totalBytes / 2 ** 20).toFixed(1)} MB; warm modules: ${modules.join(',') || '(none)'}; ${repeat} restores each`);

  const samples: Record<'launched' | 'pool', number[]> = { launched: [], pool: [] };
  for (let i = 0; i < repeat; i++) {
    for (const [running, expected] of [
      [cold, 'launched'],
      [warm, 'pool'],
    ] as const) {
      await running.service.warmPool?.whenFilled();
      const t0 = performance.now();
      const outcome = await serviceCall<RestoreOutcome>(running, 'POST', '/stores/src/restore', { id: `r${i}` });
      const ms = performance.now() - t0;
      if (!outcome.ok || outcome.kernelFrom !== expected) throw new Error(`restore ${i}: ok ${outcome.ok}, kernel from ${outcome.kernelFrom} (expected ${expected})`);
      samples[expected].push(ms);
      await serviceCall(running, 'DELETE', `/kernels/r${i}`);
      process.kill(outcome.kernel.pid, 'SIGKILL');
    }
  }
  const launchedMs = median(samples.launched);
  const pooledMs = median(samples.pool);
  const range = (xs: number[]) => `${fmtMs(Math.min(...xs))}–${fmtMs(Math.max(...xs))}`;
  console.log(`restore through the service, launched kernel: median ${fmtMs(launchedMs)} (${range(samples.launched)})`);
  console.log(`restore through the service, pooled kernel:   median ${fmtMs(pooledMs)} (${range(samples.pool)})`);
  console.log(`pooled / launched: ${(pooledMs / launchedMs).toFixed(2)}×  (${cpus().length} cores, load average ${loadavg()[0]!.toFixed(1)})`);
} finally {
  for (const running of services) await running.close();
  await source.dispose();
  await rm(dir, { recursive: true, force: true });
}
