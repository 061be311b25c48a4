/**
 * npm run bench:service — the service's platform operations, timed on this machine (issue 15):
 *
 * 1. Notice to safe: N kernels (N = 1, 4, 8), each holding --state-mb MB of irreproducible bytes
 *    (os.urandom: they must be written) and a 0.5 s cell, registered with `nbferry serve`; then
 *    POST /notice {deadlineSeconds: 120} (AWS's spot notice). Prints the time from the notice to
 *    every kernel safe, twice: cold (never checkpointed), and with auto-checkpoint on after one
 *    more small cell per kernel (only what changed since the last checkpoint is written).
 * 2. Suspend and resume a session (a notebook run in a registered kernel): suspend = checkpoint
 *    then shut the kernel down; resume = restore into a fresh kernel, verified. Against a cold
 *    restart: start a kernel and rerun every cell.
 *
 *   npm run bench:service                 (generates the notebooks' small data sets first, as the demo does)
 *   npm run bench:service -- --counts 1,4 --state-mb 16 --notebook benchmarks/notebooks/house_prices_regression.ipynb
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { launchKernel, type Kernel } from '@nbferry/kernel';
import { parseNotebook } from '@nbferry/protocol';
import { startService, type CheckpointSummary, type KernelState, type NoticeReport, type RestoreOutcome } from '@nbferry/service';
import { BENCH_TOKEN, serviceCall } from './service-call.js';
import { repoRoot, testPython } from '../test/support/python.js';
import { fmtMs } from './stats.js';

const { values: args } = parseArgs({
  options: {
    counts: { type: 'string', default: '1,4,8' },
    'state-mb': { type: 'string', default: '32' },
    notebook: { type: 'string', default: join(repoRoot, 'benchmarks/notebooks/titanic_features_cv.ipynb') },
  },
});
const counts = args.counts.split(',').map(Number);
const stateMb = Number(args['state-mb']);
const python = testPython();
const NOTICE_SECONDS = 120;


async function run(kernel: Kernel, code: string): Promise<void> {
  const result = await kernel.client.execute(code);
  if (result.status !== 'ok') throw new Error(`cell failed: ${code.slice(0, 80)}: ${result.error?.ename}: ${result.error?.evalue}`);
}

async function until(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}

function describeNotice(report: NoticeReport): string {
  const bytes = report.kernels.reduce((sum, k) => sum + (k.checkpoint?.newBytes ?? 0), 0);
  const outcomes = [...new Set(report.kernels.map((k) => k.outcome))].join('/');
  return `${fmtMs(report.elapsedMs).padStart(9)}  ${(bytes / 2 ** 20).toFixed(1).padStart(8)} MB written  all safe: ${report.allSafe ? 'yes' : 'NO'} (${outcomes})`;
}

async function noticeToSafe(n: number): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'nbf-bench-service-'));
  const kernels: Kernel[] = [];
  const running = await startService({ token: BENCH_TOKEN, port: 0, storeRoot: join(dir, 'stores'), python, logger: false });
  try {
    for (let i = 0; i < n; i++) {
      const kernel = await launchKernel({ python, cwd: dir });
      kernels.push(kernel);
      await run(kernel, `import os, time, numpy as np\nstate = np.frombuffer(os.urandom(${stateMb} * 2**20), dtype=np.uint8)\ntime.sleep(0.5)\nsummary = float(state[:1000].mean())`);
      await serviceCall(running, 'POST', '/kernels', { connectionFile: kernel.connectionFile, id: `k${i}` });
    }
    const cold = await serviceCall<NoticeReport>(running, 'POST', '/notice', { deadlineSeconds: NOTICE_SECONDS });
    console.log(`  ${String(n).padStart(2)} kernel(s), cold:            ${describeNotice(cold)}`);

    for (let i = 0; i < n; i++) await serviceCall(running, 'PUT', `/kernels/k${i}/auto-checkpoint`, { enabled: true, idleMs: 200 });
    for (const kernel of kernels) await run(kernel, 'extra = np.arange(1000) * summary');
    // Auto-checkpoint catches up after the cells; the notice comes later.
    await until(async () => (await serviceCall<{ kernels: KernelState[] }>(running, 'GET', '/kernels')).kernels.every((k) => k.protected), 300_000);
    for (const kernel of kernels) await run(kernel, 'extra2 = extra + 1');
    const warm = await serviceCall<NoticeReport>(running, 'POST', '/notice', { deadlineSeconds: NOTICE_SECONDS });
    console.log(`  ${String(n).padStart(2)} kernel(s), auto-checkpoint: ${describeNotice(warm)}`);
  } finally {
    await running.close();
    for (const kernel of kernels) await kernel.dispose().catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }
}

async function suspendResume(notebookPath: string): Promise<void> {
  const cells = parseNotebook(await readFile(notebookPath, 'utf8'), notebookPath).cells.filter((c) => !c.expectError);
  const cwd = dirname(resolve(notebookPath));
  const dir = await mkdtemp(join(tmpdir(), 'nbf-bench-suspend-'));
  const running = await startService({ token: BENCH_TOKEN, port: 0, storeRoot: join(dir, 'stores'), python, defaultCwd: cwd, logger: false });
  const started: number[] = [];
  try {
    // Cold restart: a fresh kernel, every cell again.
    const t0 = performance.now();
    const cold = await launchKernel({ python, cwd });
    for (const cell of cells) await run(cold, cell.source);
    const coldMs = performance.now() - t0;

    await serviceCall(running, 'POST', '/kernels', { connectionFile: cold.connectionFile, id: 'session' });
    const t1 = performance.now();
    const saved = await serviceCall<CheckpointSummary>(running, 'POST', '/kernels/session/checkpoint', { allowLoss: true });
    await serviceCall(running, 'DELETE', '/kernels/session');
    await cold.dispose();
    const suspendMs = performance.now() - t1;

    const t2 = performance.now();
    const resumed = await serviceCall<RestoreOutcome>(running, 'POST', '/stores/session/restore', {});
    const resumeMs = performance.now() - t2;
    started.push(resumed.kernel.pid);
    const rel = notebookPath.replace(repoRoot, '');
    console.log(`  ${rel}: ${cells.length} cells, checkpoint ${(saved.totalBytes / 2 ** 20).toFixed(1)} MB`);
    console.log(`    cold restart + rerun all: ${fmtMs(coldMs)}`);
    console.log(`    suspend (checkpoint + shutdown): ${fmtMs(suspendMs)}`);
    console.log(`    resume (fresh kernel, restore, verify): ${fmtMs(resumeMs)}  ok: ${resumed.ok} ${JSON.stringify(resumed.totals)}`);
  } finally {
    await running.close();
    for (const pid of started) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    await rm(dir, { recursive: true, force: true });
  }
}

console.log(`bench:service on ${cpus().length} cores, load average ${loadavg()[0]!.toFixed(1)}; ${stateMb} MB per kernel, notice ${NOTICE_SECONDS} s`);
console.log('notice to every kernel safe:');
for (const n of counts) await noticeToSafe(n);
console.log('suspend and resume a session against a cold restart:');
await suspendResume(args.notebook);
