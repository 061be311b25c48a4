/**
 * npm run bench:hub — suspend and resume a notebook session through JupyterHub (issue 15) against a
 * cold restart plus rerun-all, on a real Hub started as the hub tests start it (test/support/jupyterhub.ts).
 *
 *  cold:    start the user's server, open the notebook (a fresh kernel), run every cell;
 *  suspend: the service, once the server is idle: warn, checkpoint + verify each kernel, stop the
 *           server (the service's own measure, `lastSuspend.totalMs`);
 *  resume:  start the server again until the service has restored the notebook's kernel, verified
 *           (wall clock from the start request; the restore alone is the service's measure).
 *
 *   npm run bench:hub                      (generates the notebooks' small data sets first)
 *   npm run bench:hub -- --notebook benchmarks/notebooks/house_prices_regression.ipynb
 */
import { copyFile, readFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import type { ServerStatus } from '@nbferry/jupyterhub';
import { ServerApi } from '@nbferry/jupyter-server';
import { parseNotebook } from '@nbferry/protocol';
import { Frontend } from '../test/support/jupyter-server.js';
import { startHub } from '../test/support/jupyterhub.js';
import { repoRoot } from '../test/support/python.js';
import { fmtMs } from './stats.js';

const { values: args } = parseArgs({
  options: {
    notebook: { type: 'string', default: join(repoRoot, 'benchmarks/notebooks/titanic_features_cv.ipynb') },
    size: { type: 'string', default: 'small' },
  },
});
const IDLE_SECONDS = 5;

const hub = await startHub({
  idleTimeoutSeconds: IDLE_SECONDS,
  warnSeconds: 1,
  pollSeconds: 1,
  serverEnv: { NBFERRY_DATA_DIR: join(repoRoot, 'benchmarks/notebooks/data', args.size) },
});
try {
  const path = basename(args.notebook);
  await copyFile(args.notebook, join(hub.homes, 'alice', path));
  const cells = parseNotebook(await readFile(args.notebook, 'utf8'), args.notebook).cells.filter((c) => !c.expectError);
  const status = async (): Promise<ServerStatus | undefined> => {
    const response = await fetch(`${hub.serviceUrl}status?user=alice`, { headers: { Authorization: `token ${hub.adminToken}` } });
    return ((await response.json()) as { servers: ServerStatus[] }).servers.find((s) => s.server === '');
  };
  const until = async <T>(probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> => {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > end) throw new Error(`timed out\n${hub.output().slice(-4000)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  // Cold: server start, fresh kernel, every cell.
  const t0 = performance.now();
  await hub.startServer('alice');
  const serverStartMs = performance.now() - t0;
  const server = { baseUrl: hub.serverUrl('alice'), token: hub.adminToken };
  await new ServerApi(server).createSession({ path, kernel: { name: 'nbferry' } });
  const cold = await Frontend.openSession(server, path);
  for (const cell of cells) await cold.run(cell.source, 600_000);
  const coldMs = performance.now() - t0;
  cold.close();

  // Suspend (by the service, once idle), then resume.
  const suspended = await until(async () => {
    const s = await status();
    return s?.phase === 'suspended' ? s : undefined;
  }, 300_000);
  const t1 = performance.now();
  await hub.startServer('alice');
  const restored = await until(async () => (await status())?.lastRestore, 300_000);
  const resumeMs = performance.now() - t1;
  const session = restored.sessions[0]!;

  console.log(`bench:hub on ${cpus().length} cores, load average ${loadavg()[0]!.toFixed(1)}; ${path}, ${cells.length} cells, data ${args.size}`);
  console.log(`  cold: server start + fresh kernel + rerun all: ${fmtMs(coldMs)} (server start ${fmtMs(serverStartMs)})`);
  console.log(
    `  suspend (checkpoint + verify + stop, measured by the service once the warning ran out): ${fmtMs(suspended.lastSuspend!.totalMs)}, ` +
      `checkpoint ${(suspended.lastSuspend!.sessions[0]!.totalBytes / 2 ** 20).toFixed(1)} MB`,
  );
  console.log(`  resume: server start + restore + verify: ${fmtMs(resumeMs)} (restore ${fmtMs(session.totalMs ?? 0)}); ok ${restored.ok} ${JSON.stringify(session.totals)}`);
} finally {
  await hub.stop();
}
