// Issue 15, the JupyterHub service: a real JupyterHub (configurable-http-proxy, SimpleLocalProcessSpawner,
// DummyAuthenticator, two users, named servers with profiles) runs `nbferry hub-service` as a managed
// service configured in jupyterhub_config.py (test/support/jupyterhub.ts). Short timings: idle after
// IDLE s, warned WARN s before the suspend, the Hub polled every POLL s.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MoveReport, ServerStatus } from '@nbferry/jupyterhub';
import { ServerApi } from '@nbferry/jupyter-server';
import { Frontend } from './support/jupyter-server.js';
import { startHub, type Hub } from './support/jupyterhub.js';
import { parseExposition, sampleValue, type Sample } from './support/prometheus.js';

const IDLE = 6;
const WARN = 2;
const POLL = 1;
const NOTEBOOK = 'work/analysis.ipynb';
const EMPTY_NOTEBOOK = { cells: [], metadata: {}, nbformat: 4, nbformat_minor: 5 };

describe('JupyterHub service: suspend instead of cull, restore on return, move to a bigger server', () => {
  let hub: Hub;
  const frontends: Frontend[] = [];
  let keepBobActive: NodeJS.Timeout | undefined;

  beforeAll(async () => {
    hub = await startHub({
      idleTimeoutSeconds: IDLE,
      warnSeconds: WARN,
      pollSeconds: POLL,
      // Right-sizing: a kernel past half of 512 MB is moved to the "big" named server.
      serviceArgs: ['--memory-limit', '512M', '--memory-threshold', '0.5', '--move-to', 'big', '--move-options', '{"profile": "big"}'],
    });
  }, 120_000);
  afterAll(async () => {
    clearInterval(keepBobActive);
    for (const frontend of frontends.splice(0)) frontend.close();
    await hub?.stop();
  }, 60_000);

  /** The user's server as the test (an admin token with access:servers) reaches it through the proxy. */
  const serverOf = (user: string, serverName = '') => new ServerApi({ baseUrl: hub.serverUrl(user, serverName), token: hub.adminToken });

  async function status(user: string, serverName = ''): Promise<ServerStatus | undefined> {
    const response = await fetch(`${hub.serviceUrl}status?user=${user}`, { headers: { Authorization: `token ${hub.adminToken}` } });
    expect(response.status).toBe(200);
    const { servers } = (await response.json()) as { servers: ServerStatus[] };
    return servers.find((s) => s.server === serverName);
  }

  /** The service's metrics, scraped as Prometheus would (the admin token) and parsed. */
  async function metrics(): Promise<Sample[]> {
    const response = await fetch(`${hub.serviceUrl}metrics`, { headers: { Authorization: `token ${hub.adminToken}` } });
    expect(response.status).toBe(200);
    return parseExposition(await response.text());
  }

  async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (value) return value;
      if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms\n${hub.output().slice(-8000)}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  async function openNotebook(user: string, path: string, serverName = ''): Promise<Frontend> {
    return openNotebookOn(user, path, serverName).catch((error: Error) => {
      throw new Error(`${error.message}\n${hub.output().slice(-6000)}`);
    });
  }

  async function openNotebookOn(user: string, path: string, serverName: string): Promise<Frontend> {
    const api = serverOf(user, serverName);
    if (path.includes('/')) await api.putContents({ path: dirname(path), type: 'directory', format: null, content: null });
    await api.putContents({ path, type: 'notebook', format: 'json', content: EMPTY_NOTEBOOK });
    await api.createSession({ path, kernel: { name: 'nbferry' } });
    const frontend = await Frontend.openSession({ baseUrl: hub.serverUrl(user, serverName), token: hub.adminToken }, path);
    frontends.push(frontend);
    return frontend;
  }

  async function serverReady(user: string, serverName = ''): Promise<boolean> {
    const { body } = await hub.api<{ servers: Record<string, { ready: boolean }> }>('GET', `users/${user}`);
    return body.servers?.[serverName]?.ready === true;
  }

  it("refuses the service's API without a token, with a wrong one, or with a user's token lacking admin:servers", async () => {
    expect((await fetch(`${hub.serviceUrl}health`)).status).toBe(200);
    expect((await fetch(`${hub.serviceUrl}status`)).status).toBe(401);
    const wrong = await fetch(`${hub.serviceUrl}status`, { headers: { Authorization: 'token not-a-token-the-hub-knows' } });
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { error: { code: string } }).error.code).toBe('HUB_SERVICE_UNAUTHORIZED');
    const move = await fetch(`${hub.serviceUrl}move`, {
      method: 'POST',
      headers: { Authorization: 'Bearer wrong', 'Content-Type': 'application/json' },
      body: JSON.stringify({ user: 'alice', to: 'big' }),
    });
    expect(move.status).toBe(401);
    expect((await fetch(`${hub.serviceUrl}status`, { headers: { Authorization: `token ${hub.adminToken}` } })).status).toBe(200);
    // A real Hub token, but alice's own: no admin:servers.
    const created = await hub.api<{ token: string }>('POST', 'users/alice/tokens', { note: 'test', expires_in: 600 });
    expect(created.status).toBe(201);
    const forbidden = await fetch(`${hub.serviceUrl}status`, { headers: { Authorization: `token ${created.body.token}` } });
    expect(forbidden.status).toBe(403);
    expect(((await forbidden.json()) as { error: { code: string } }).error.code).toBe('HUB_SERVICE_FORBIDDEN');
  });

  it('an idle server is warned, a failed checkpoint keeps it running and says why, then it is suspended; the other user is untouched; on return the state comes back, reported', async () => {
    // alice's store for the notebook cannot be written: a file stands where its directory goes.
    const blocked = join(hub.storeRoot, 'user-alice', `notebook-${encodeURIComponent(NOTEBOOK)}`);
    await mkdir(dirname(blocked), { recursive: true });
    await writeFile(blocked, 'not a directory');

    // Each user opens a notebook as soon as their server is up (an empty server idles from its start).
    await hub.startServer('alice');
    const alice = await openNotebook('alice', NOTEBOOK);
    await alice.run('import os\nrows = list(range(1000))\nsecret = 41 + 1\ncwd = os.getcwd()');
    await hub.startServer('bob');
    const bob = await openNotebook('bob', 'bob.ipynb');
    await bob.run('n = 0');
    // bob keeps working: a cell every second.
    keepBobActive = setInterval(() => void bob.run('n += 1').catch(() => {}), 1000);

    const failed = await until('the failed suspend of alice', async () => {
      const s = await status('alice');
      return s?.lastError?.code === 'SUSPEND_CHECKPOINT_FAILED' ? s : undefined;
    }, 60_000);
    expect(failed.lastError!.message).toContain(NOTEBOOK);
    expect(failed.lastError!.message).toMatch(/keeps running/);
    // Running on: active, or already warned again for the retry after another idle period.
    expect(['active', 'warned']).toContain(failed.phase);
    expect(await serverReady('alice')).toBe(true);
    expect(await alice.run('print(secret, len(rows))')).toBe('42 1000\n');
    // No JupyterLab extension answers nbferry/announcements here: the user finds the notice beside the notebook.
    expect(failed.announcedBy).toBe('notice-file');
    const notice = await serverOf('alice').getContents('work/nbferry-notice.md');
    expect(String(notice!.content)).toMatch(/not suspended, it keeps running/);
    alice.close();

    // The store is writable again: after the next idle period alice is warned, then suspended.
    await rm(blocked);
    const suspended = await until('alice suspended', async () => {
      const s = await status('alice');
      return s?.phase === 'suspended' ? s : undefined;
    }, 60_000);
    expect(suspended.lastSuspend!.sessions.map((s) => s.path)).toEqual([NOTEBOOK]);
    expect(await serverReady('alice')).toBe(false);

    // bob never went idle: same server, same kernel, his count went on.
    expect(await serverReady('bob')).toBe(true);
    expect((await status('bob'))?.phase).toBe('active');
    expect((await status('bob'))?.lastSuspend).toBeUndefined();
    expect(Number((await bob.run('print(n)')).trim())).toBeGreaterThan(3);

    // alice comes back: the service restores her notebook's kernel into a session at its path.
    await hub.startServer('alice');
    const restored = await until('alice restored', async () => (await status('alice'))?.lastRestore, 90_000);
    console.log(`restore on return: ${restored.report}`);
    expect(restored.ok).toBe(true);
    expect(restored.sessions).toHaveLength(1);
    expect(restored.sessions[0]).toMatchObject({ path: NOTEBOOK, ok: true });
    expect(restored.sessions[0]!.lost).toEqual([]);
    expect(restored.report).toContain(`${NOTEBOOK}: restored from`);
    const back = await Frontend.openSession({ baseUrl: hub.serverUrl('alice'), token: hub.adminToken }, NOTEBOOK);
    frontends.push(back);
    expect(await back.run('print(secret, len(rows), os.getcwd() == cwd)')).toBe('42 1000 True\n');
    const report = await serverOf('alice').getContents('work/nbferry-notice.md');
    expect(String(report!.content)).toContain('restored from');
    const counted = await metrics();
    expect(sampleValue(counted, 'nbferry_hub_suspends_total', { outcome: 'failed' })).toBeGreaterThanOrEqual(1);
    expect(sampleValue(counted, 'nbferry_hub_suspends_total', { outcome: 'suspended' })).toBe(1);
    expect(sampleValue(counted, 'nbferry_hub_restores_total', { outcome: 'ok' })).toBe(1);
  }, 300_000);

  it('moves the session to a named server with the "big" profile, into the notebook\'s directory there', async () => {
    const response = await fetch(`${hub.serviceUrl}move`, {
      method: 'POST',
      headers: { Authorization: `token ${hub.adminToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ user: 'alice', from: '', to: 'big', userOptions: { profile: 'big' } }),
    });
    const report = (await response.json()) as MoveReport;
    expect(response.status, JSON.stringify(report)).toBe(200);
    console.log(`move: ${JSON.stringify(report.sessions)} in ${report.totalMs} ms`);
    expect(report.sessions).toHaveLength(1);
    expect(report.sessions[0]).toMatchObject({ path: NOTEBOOK, ok: true, lost: [] });
    expect(report.checkpoints.map((c) => c.path)).toEqual([NOTEBOOK]);
    expect(report.sourceStopped).toBe(true);
    expect(await serverReady('alice', 'big')).toBe(true);
    expect(await serverReady('alice')).toBe(false);
    const moved = await Frontend.openSession({ baseUrl: hub.serverUrl('alice', 'big'), token: hub.adminToken }, NOTEBOOK);
    frontends.push(moved);
    expect(await moved.run('print(secret, len(rows), os.environ.get("NBFERRY_PROFILE"), os.getcwd().endswith("/work"))')).toBe('42 1000 big True\n');
    const counted = await metrics();
    expect(sampleValue(counted, 'nbferry_hub_moves_total', { trigger: 'api', outcome: 'moved' })).toBe(1);
    expect(sampleValue(counted, 'nbferry_hub_move_duration_seconds_count', { trigger: 'api' })).toBe(1);
  }, 180_000);

  it('right-sizing: a kernel past its memory threshold is checkpointed and its session moved to the bigger server', async () => {
    clearInterval(keepBobActive);
    const bob = await Frontend.openSession({ baseUrl: hub.serverUrl('bob'), token: hub.adminToken }, 'bob.ipynb');
    frontends.push(bob);
    // 300 MB made by a cheap cell: over 256 MB (half the 512 MB limit) with the kernel's own memory.
    await bob.run('big = b"x" * (300 * 2**20)\nsize = len(big)');
    const s = await until('bob moved for memory', async () => {
      const state = await status('bob');
      return state?.lastRightSizing && state.lastRightSizing.action !== undefined && state.phase !== 'moving' ? state : undefined;
    }, 120_000);
    console.log(`right-sizing: ${JSON.stringify(s.lastRightSizing)}; move ${JSON.stringify(s.lastMove?.sessions)}`);
    expect(s.lastRightSizing!.action).toBe('moved');
    expect(s.lastRightSizing!.kernels[0]!.rssBytes).toBeGreaterThanOrEqual(256 * 2 ** 20);
    expect(s.lastMove!.checkpoints.map((c) => c.path)).toEqual(['bob.ipynb']);
    expect(await serverReady('bob', 'big')).toBe(true);
    expect(await serverReady('bob')).toBe(false);
    const moved = await Frontend.openSession({ baseUrl: hub.serverUrl('bob', 'big'), token: hub.adminToken }, 'bob.ipynb');
    frontends.push(moved);
    expect(await moved.run('import os\nprint(size, n > 3, os.environ.get("NBFERRY_PROFILE"))')).toBe(`${300 * 2 ** 20} True big\n`);
    expect(sampleValue(await metrics(), 'nbferry_hub_moves_total', { trigger: 'memory', outcome: 'moved' })).toBe(1);
  }, 180_000);
});
