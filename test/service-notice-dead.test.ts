// Issue 15, preemption: a kernel that died before the notice (killed, OOM) must not hold up the
// kernels ranked after it until the notice runs out. The dead kernel ranks first here (2 s of
// recompute), so a checkpoint that waited on it would leave nothing of the deadline to the live one.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { attachKernel, launchKernel, type Kernel } from '@nbferry/kernel';
import { startService, type NoticeReport } from '@nbferry/service';
import { Frontend, startJupyterServer, type JupyterServer } from './support/jupyter-server.js';
import { runCell } from './support/kernel-sandbox.js';
import { pidAlive, waitUntil } from './support/processes.js';
import { testPython } from './support/python.js';
import { serviceRequest } from './support/service-api.js';

const TOKEN = 'dead-notice-token-0123456789';
const NOTICE_SECONDS = 30;
const SLOW_CELL = 'import time\ntime.sleep(2)\nslow = 42';

let dir = '';
const kernels: Kernel[] = [];
const servers: JupyterServer[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nbferry-notice-dead-'));
});
afterEach(async () => {
  for (const kernel of kernels.splice(0)) await kernel.dispose().catch(() => {});
  for (const server of servers.splice(0)) await server.stop();
  await rm(dir, { recursive: true, force: true });
});

const post = <T>(url: string, path: string, body: unknown) => serviceRequest<T>(url, TOKEN, 'POST', path, body);

/**
 * Waits until the service has the record of the kernel's last cell: the shim sends it after the
 * cell's idle status (its read checks run then), and the ranking must see it before the kill.
 */
async function recordedBy(url: string, id: string, beyond: number): Promise<void> {
  const lastCell = async () => ((await (await fetch(`${url}/kernels/${id}`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { lastCell: number }).lastCell;
  const deadline = Date.now() + 15_000;
  let seen = await lastCell();
  while (seen <= beyond && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    seen = await lastCell();
  }
  expect(seen, "the service has the slow cell's record").toBeGreaterThan(beyond);
}

for (const registration of ['connection file', 'restored by the service', 'behind a Jupyter Server'] as const) {
  it(`a killed kernel (${registration}) is reported failed at once and the live kernel after it is saved`, async () => {
    const live = await launchKernel({ python: testPython(), cwd: dir });
    kernels.push(live);
    await runCell(live.client, 'numbers = list(range(1000))');
    const running = await startService({ token: TOKEN, port: 0, storeRoot: join(dir, 'stores'), python: testPython(), logger: false });
    try {
      let deadPid: number;
      if (registration === 'connection file') {
        const doomed = await launchKernel({ python: testPython(), cwd: dir });
        kernels.push(doomed);
        expect((await post(running.url, '/kernels', { connectionFile: doomed.connectionFile, id: 'doomed' })).status).toBe(201);
        await runCell(doomed.client, SLOW_CELL);
        await recordedBy(running.url, 'doomed', 0);
        deadPid = doomed.client.process!.pid!;
      } else if (registration === 'behind a Jupyter Server') {
        const server = await startJupyterServer();
        servers.push(server);
        const model = await server.api.startKernel({});
        expect((await post(running.url, '/kernels', { serverUrl: server.baseUrl, token: server.token, kernelId: model.id, id: 'doomed' })).status).toBe(201);
        const frontend = await Frontend.open(server, model.id);
        await frontend.run(SLOW_CELL);
        await recordedBy(running.url, 'doomed', 0);
        frontend.close();
        // Its whole server goes (an evicted pod): SIGKILL, so it cannot shut its kernel down either.
        process.kill(server.pid, 'SIGKILL');
        const state = (await (await fetch(`${running.url}/kernels/doomed`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { pid: number };
        deadPid = state.pid;
      } else {
        // A kernel the service started itself (a restore): no heartbeat of a launching client watches it.
        const source = await launchKernel({ python: testPython(), cwd: dir });
        kernels.push(source);
        await runCell(source.client, 'x = 1');
        expect((await post(running.url, '/kernels', { connectionFile: source.connectionFile, id: 'source' })).status).toBe(201);
        const migrated = await post<{ connectionFile: string }>(running.url, '/kernels/source/migrate', { id: 'doomed' });
        expect(migrated.status).toBe(200);
        expect((await fetch(`${running.url}/kernels/source`, { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(204);
        const state = (await (await fetch(`${running.url}/kernels/doomed`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { pid: number };
        deadPid = state.pid;
        // A recorded slow cell (from another client, as a notebook's) ranks it first.
        const frontend = await attachKernel(migrated.body.connectionFile, { heartbeat: false });
        const before = ((await (await fetch(`${running.url}/kernels/doomed`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { lastCell: number }).lastCell;
        await runCell(frontend.client, SLOW_CELL);
        await recordedBy(running.url, 'doomed', before);
        await frontend.detach();
      }
      expect((await post(running.url, '/kernels', { connectionFile: live.connectionFile, id: 'live' })).status).toBe(201);
      process.kill(deadPid, 'SIGKILL');
      expect(await waitUntil(() => !pidAlive(deadPid), 5000)).toBe(true);

      const { status, body: report } = await post<NoticeReport>(running.url, '/notice', { deadlineSeconds: NOTICE_SECONDS });
      expect(status).toBe(200);
      console.log(`notice with a killed kernel (${registration}): ${report.kernels.map((k) => `${k.id} ${k.outcome} at ${k.atMs} ms`).join(', ')}; ${report.elapsedMs} ms`);
      const outcomes = Object.fromEntries(report.kernels.map((k) => [k.id, k]));
      expect(outcomes.live!.outcome).toBe('saved');
      expect(report.kernels.map((k) => k.id)).toEqual(['doomed', 'live']);
      expect(outcomes.doomed!.outcome).toBe('failed');
      expect(outcomes.doomed!.error).toMatch(/^not running: /);
      // Not held up until the deadline: the dead kernel is given up within seconds.
      expect(outcomes.live!.atMs).toBeLessThan((NOTICE_SECONDS * 1000) / 2);
    } finally {
      await running.close();
    }
  });
}
