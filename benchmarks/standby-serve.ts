/**
 * Standbys in the service (issue 17, `nbferry serve --standby`): POST /kernels/{id}/migrate of one
 * kernel (a pandas frame), timed over HTTP as a platform would call it, into a launched kernel (a
 * service without pool or standby), into a pooled kernel (`--warm-kernels 1`, refilled between
 * migrations) and into the kernel's standby (`--standby`: the kernel auto-checkpoints, the standby
 * has caught up, then one small cell runs and the migration is asked for at once, so it moves that
 * cell's change). Alternating, --repeat times each; medians printed.
 *
 *   npx tsx --conditions=source benchmarks/standby-serve.ts [--repeat 5] [--mib 8] [--modules numpy,pandas]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { attachKernel, launchKernel } from '@nbferry/kernel';
import { residentBytes, startService, type KernelFrom, type KernelState, type RestoreOutcome, type RunningService } from '@nbferry/service';
import { BENCH_TOKEN, serviceBenchArgs, serviceCall } from './service-call.js';
import { testPython } from '../test/support/python.js';
import { fmtMs, median } from './stats.js';

const { repeat, mib, modules } = serviceBenchArgs();
const python = testPython();

const dir = await mkdtemp(join(tmpdir(), 'nbf-bench-standby-'));
const storeRoot = join(dir, 'stores');
const source = await launchKernel({ python, cwd: dir });
const services: RunningService[] = [];

async function run(code: string): Promise<void> {
  const cell = await source.client.execute(code);
  if (cell.status !== 'ok') throw new Error(`source cell failed: ${cell.error?.ename}: ${cell.error?.evalue}`);
}

/** Waits until the registered source is protected and its standby holds that checkpoint; returns both pids. */
async function standbySynced(running: RunningService, id: string): Promise<{ source: number; standby: number }> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const state = await serviceCall<KernelState>(running, 'GET', `/kernels/${id}`);
    if (state.standby?.lastError) throw new Error(`standby of ${id}: ${state.standby.lastError}`);
    if (state.protected && state.lastCheckpoint && state.standby?.pid && state.standby.syncedCheckpoint === state.lastCheckpoint.id) return { source: state.pid, standby: state.standby.pid };
    await sleep(100);
  }
  throw new Error(`the standby of ${id} did not catch up within 120 s`);
}

try {
  // A small data-science state (what a fresh kernel must import dominates), unseeded: only loads bring it back.
  await run(`import numpy as np, pandas as pd\nframe = pd.DataFrame(np.random.default_rng().normal(size=(${mib} * 2**17 // 8, 8)), columns=list("abcdefgh"))\nsummary = frame.describe()`);
  const options = { token: BENCH_TOKEN, port: 0, storeRoot, python, defaultCwd: dir, logger: false as const };
  const cold = await startService(options);
  const pooled = await startService({ ...options, warmKernels: { size: 1, modules } });
  // No pool: the standby is launched and prepared with the same modules.
  const standby = await startService({ ...options, warmKernels: { size: 0, modules }, standby: true });
  services.push(cold, pooled, standby);
  console.log(`source: ${mib} MB frame; warm modules: ${modules.join(',') || '(none)'}; ${repeat} migrations each`);

  const samples: Record<KernelFrom, number[]> = { launched: [], pool: [], standby: [] };
  const catchUps: string[] = [];
  let memory = { source: NaN, standby: NaN };
  for (let i = 0; i < repeat; i++) {
    for (const [running, expected] of [
      [cold, 'launched'],
      [pooled, 'pool'],
      [standby, 'standby'],
    ] as const) {
      const id = `${expected}-${i}`;
      await serviceCall(running, 'POST', '/kernels', { connectionFile: source.connectionFile, id, ...(expected === 'standby' ? { autoCheckpointIdleMs: 1000 } : {}) });
      await running.service.warmPool?.whenFilled();
      if (expected === 'standby') {
        const pids = await standbySynced(running, id);
        // What a standby costs: its resident memory beside the source's.
        if (i === 0) memory = { source: (await residentBytes(pids.source)) ?? NaN, standby: (await residentBytes(pids.standby)) ?? NaN };
      }
      await run(`tick = ${JSON.stringify(id)}`); // the last cell, not checkpointed yet (a value new to the source)
      const t0 = performance.now();
      const outcome = await serviceCall<RestoreOutcome>(running, 'POST', `/kernels/${id}/migrate`, { id: `moved-${id}` });
      const ms = performance.now() - t0;
      if (!outcome.ok || outcome.kernelFrom !== expected) throw new Error(`migration ${id}: ok ${outcome.ok}, kernel from ${outcome.kernelFrom} (expected ${expected}${outcome.standbyUnusable ? `; standby unusable: ${outcome.standbyUnusable}` : ''})`);
      samples[expected].push(ms);
      // The last cell's change came over (it was in no checkpoint the standby had caught up with).
      const moved = await attachKernel(outcome.connectionFile);
      const tick = await moved.client.execute('', { silent: true, userExpressions: { v: 'tick' } }).finally(() => moved.detach());
      const value = tick.userExpressions.v;
      if (value?.status !== 'ok' || value.data['text/plain'] !== `'${id}'`) throw new Error(`migration ${id}: tick is ${JSON.stringify(value)}, expected '${id}'`);
      const c = outcome.standby;
      if (c) catchUps.push(`loaded ${c.loadedBytes} B (${c.loads.join('; ') || 'nothing'}), reran ${c.reruns.join('; ') || 'nothing'}, kept ${c.keptGroups} groups, checkpoint ${c.checkpointMs} ms, catch-up ${c.syncMs} ms`);
      await serviceCall(running, 'DELETE', `/kernels/moved-${id}`);
      await serviceCall(running, 'DELETE', `/kernels/${id}`);
      process.kill(outcome.kernel.pid, 'SIGKILL');
    }
  }
  const range = (xs: number[]) => `${fmtMs(Math.min(...xs))}–${fmtMs(Math.max(...xs))}`;
  for (const from of ['launched', 'pool', 'standby'] as const) {
    console.log(`migration through the service, ${`${from} kernel:`.padEnd(16)} median ${fmtMs(median(samples[from]))} (${range(samples[from])})`);
  }
  console.log(`resident memory: source ${(memory.source / 2 ** 20).toFixed(0)} MB, its standby ${(memory.standby / 2 ** 20).toFixed(0)} MB`);
  for (const catchUp of catchUps) console.log(`standby catch-up at migration: ${catchUp}`);
  const launchedMs = median(samples.launched);
  console.log(`pool / launched ${(median(samples.pool) / launchedMs).toFixed(2)}×, standby / launched ${(median(samples.standby) / launchedMs).toFixed(2)}×  (${cpus().length} cores, load average ${loadavg()[0]!.toFixed(1)})`);
} finally {
  for (const running of services) await running.close();
  await source.dispose();
  await rm(dir, { recursive: true, force: true });
}
