// Issue 15, as a platform runs it: a Jupyter Server starts kernels from the nbferry kernelspec, a
// frontend runs cells through the server (one makes a generator), then the service registers the
// kernel by server URL + token: it finds the installed shim, nothing is of unknown provenance, and
// the kernel's state is checkpointed over the websocket and restored on this machine.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServerKernel, type ServerKernel } from '@nbferry/jupyter-server';
import { attachKernel } from '@nbferry/kernel';
import { startService, type CheckpointSummary, type KernelState, type RestoreOutcome, type RunningService } from '@nbferry/service';
import { startJupyterServer, type JupyterServer } from './support/jupyter-server.js';
import { valueOf } from './support/kernel-sandbox.js';
import { repoRoot, testPython } from './support/python.js';
import { serviceRequest } from './support/service-api.js';
import { killAll } from './support/processes.js';

const TOKEN = 'svc-token-0123456789';

describe('a Jupyter Server kernel from the nbferry kernelspec, registered with the service', () => {
  let dir = '';
  let server: JupyterServer;
  let running: RunningService;
  let kernel: ServerKernel;
  const restoredPids: number[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nbferry-svc-server-'));
    const shimOnPath = join(repoRoot, 'python-shim', 'src'); // where `pip install nbferry_shim` would put it
    const prefix = join(dir, 'prefix');
    await promisify(execFile)(testPython(), ['-m', 'nbferry_shim.kernel_install', '--name', 'nbferry', '--prefix', prefix], {
      env: { ...process.env, PYTHONPATH: shimOnPath },
    });
    // The server (and so its kernels) sees the kernelspec and the shim package, as in a platform's image.
    const saved = { JUPYTER_PATH: process.env.JUPYTER_PATH, PYTHONPATH: process.env.PYTHONPATH };
    process.env.JUPYTER_PATH = join(prefix, 'share', 'jupyter');
    process.env.PYTHONPATH = shimOnPath;
    try {
      server = await startJupyterServer();
    } finally {
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
    running = await startService({ token: TOKEN, port: 0, storeRoot: join(dir, 'stores'), python: testPython(), defaultCwd: dir, logger: false });
  });
  afterAll(async () => {
    await running?.close();
    await kernel?.shutdown().catch(() => {});
    await server?.stop();
    killAll(restoredPids);
    await rm(dir, { recursive: true, force: true });
  });

  const api = <T>(method: string, path: string, body?: unknown) => serviceRequest<T>(running.url, TOKEN, method, path, body);

  it('registers by server URL and token, checkpoints over the websocket with nothing lost, and restores', async () => {
    kernel = await startServerKernel(server, { name: 'nbferry' });
    for (const code of ['data = list(range(10))', 'evens = (x for x in data if x % 2 == 0)', 'first = next(evens)']) {
      expect((await kernel.client.execute(code)).status).toBe('ok');
    }
    const registered = await api<KernelState>('POST', '/kernels', { serverUrl: server.baseUrl, token: server.token, kernelId: kernel.kernelId, id: 'hub-user' });
    expect(registered.status).toBe(201);
    expect(registered.body).toMatchObject({ shim: 'installed', unknownProvenance: [], lastCell: 3, source: { kind: 'jupyter-server', kernelId: kernel.kernelId } });
    expect(JSON.stringify(registered.body)).not.toContain(server.token);

    // Auto-checkpoint would have the kernel write the store on its own machine: refused for server kernels.
    const auto = await api<{ error: { code: string } }>('PUT', '/kernels/hub-user/auto-checkpoint', { enabled: true });
    expect(auto).toMatchObject({ status: 409, body: { error: { code: 'KERNEL_NOT_LOCAL' } } });

    const saved = await api<CheckpointSummary>('POST', '/kernels/hub-user/checkpoint', {});
    expect(saved.status).toBe(200);
    expect(saved.body.unrecoverable).toEqual([]);

    const restored = await api<RestoreOutcome>('POST', '/stores/hub-user/restore', {});
    expect(restored.status).toBe(200);
    restoredPids.push(restored.body.kernel.pid);
    expect(restored.body).toMatchObject({ ok: true, lost: [] });
    const target = await attachKernel(restored.body.connectionFile);
    try {
      expect(await valueOf(target.client, '(first, next(evens))')).toBe('(0, 2)');
    } finally {
      await target.detach();
    }

    // A move through the store (a directory here): the server kernel's blobs still come over the websocket.
    const moved = await api<RestoreOutcome>('POST', '/kernels/hub-user/migrate', { store: 'hub-user', id: 'moved' });
    expect(moved.status, JSON.stringify(moved.body)).toBe(200);
    restoredPids.push(moved.body.kernel.pid);
    expect(moved.body).toMatchObject({ ok: true, lost: [], kernel: { store: 'hub-user' } });
    expect((await api<{ checkpoints: unknown[] }>('GET', '/stores/hub-user/log')).body.checkpoints).toHaveLength(2);
    const movedKernel = await attachKernel(moved.body.connectionFile);
    try {
      expect(await valueOf(movedKernel.client, '(first, next(evens))')).toBe('(0, 2)');
    } finally {
      await movedKernel.detach();
    }
  });
});
