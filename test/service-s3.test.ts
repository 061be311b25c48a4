// Issues 14 and 15: `nbferry serve` with its stores in an object store (a real SeaweedFS). A kernel
// behind a Jupyter Server (not on the service's machine as far as the service knows: it is reached
// by URL and token only) checkpoints into s3:// (chunks kernel -> service -> bucket), and
// POST /kernels/{id}/migrate {store} moves it through a checkpoint in the bucket into a fresh kernel.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startServerKernel, type ServerKernel } from '@nbferry/jupyter-server';
import { attachKernel } from '@nbferry/kernel';
import type { CheckpointBody } from '@nbferry/migrate';
import { startService, type CheckpointSummary, type KernelState, type RestoreOutcome, type RunningService } from '@nbferry/service';
import { S3Store } from '@nbferry/store-s3';
import { startJupyterServer, type JupyterServer } from './support/jupyter-server.js';
import { valueOf } from './support/kernel-sandbox.js';
import { repoRoot, testPython } from './support/python.js';
import { startSeaweed, type Seaweed } from './support/seaweed.js';
import { serviceRequest } from './support/service-api.js';
import { killAll } from './support/processes.js';

const TOKEN = 'svc-token-s3-0123456789';
const BUCKET = 'nbferry-serve';
const ROOT = `s3://${BUCKET}/service`;

let dir = '';
let server: JupyterServer;
let weed: Seaweed;
let running: RunningService;
let kernel: ServerKernel | undefined;
const startedPids: number[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nbferry-svc-s3-'));
  const shimOnPath = join(repoRoot, 'python-shim', 'src');
  const prefix = join(dir, 'prefix');
  await promisify(execFile)(testPython(), ['-m', 'nbferry_shim.kernel_install', '--name', 'nbferry', '--prefix', prefix], {
    env: { ...process.env, PYTHONPATH: shimOnPath },
  });
  const saved = { JUPYTER_PATH: process.env.JUPYTER_PATH, PYTHONPATH: process.env.PYTHONPATH };
  process.env.JUPYTER_PATH = join(prefix, 'share', 'jupyter');
  process.env.PYTHONPATH = shimOnPath;
  try {
    [server, weed] = await Promise.all([startJupyterServer(), startSeaweed()]);
  } finally {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
  await weed.createBucket(BUCKET);
  // The service finds the object store through the standard AWS chain, as `nbferry serve` would.
  Object.assign(process.env, weed.env);
  running = await startService({ token: TOKEN, port: 0, storeRoot: ROOT, python: testPython(), defaultCwd: dir, logger: false });
}, 180_000);
afterAll(async () => {
  await running?.close();
  await kernel?.shutdown().catch(() => {});
  await server?.stop();
  await weed?.stop();
  killAll(startedPids);
  await rm(dir, { recursive: true, force: true });
});

const api = <T>(method: string, path: string, body?: unknown) => serviceRequest<T>(running.url, TOKEN, method, path, body);

it('a Jupyter Server kernel checkpoints into s3://, moves through the bucket into a fresh kernel, and restores from it; undo there is refused clearly', async () => {
  kernel = await startServerKernel(server, { name: 'nbferry' });
  // Unseeded randomness: only its bytes can bring `noise` back.
  for (const code of ['import numpy as np', 'noise = np.random.default_rng().random(1_000_000)', 'total = float(noise.sum())', 'data = list(range(10))']) {
    expect((await kernel.client.execute(code)).status).toBe('ok');
  }
  const registered = await api<KernelState>('POST', '/kernels', { serverUrl: server.baseUrl, token: server.token, kernelId: kernel.kernelId, id: 'remote' });
  expect(registered.status).toBe(201);
  expect(registered.body).toMatchObject({ store: 'remote', shim: 'installed', source: { kind: 'jupyter-server' } });

  const saved = await api<CheckpointSummary>('POST', '/kernels/remote/checkpoint', {});
  expect(saved.status, JSON.stringify(saved.body)).toBe(200);
  expect(saved.body.newBytes).toBeGreaterThanOrEqual(8e6);
  const store = await S3Store.fromUrl(`${ROOT}/remote`, { client: weed.client() });
  expect(await store.list()).toEqual([saved.body.id]);
  expect((await store.open<CheckpointBody>(saved.body.id)).manifest.blobs.find((b) => b.variables.includes('noise'))!.bytes).toBeGreaterThanOrEqual(8e6);
  expect((await api<{ stores: string[] }>('GET', '/stores')).body.stores).toEqual(['remote']);
  const logged = await api<{ checkpoints: { id: string }[] }>('GET', '/stores/remote/log');
  expect(logged.body.checkpoints.map((c) => c.id)).toEqual([saved.body.id]);
  expect((await api<{ id: string }[]>('GET', '/kernels/remote/history')).body.map((h) => h.id)).toEqual([saved.body.id]);

  // Auto-checkpoints run on the kernel's background lane, which saves into files only: refused, said why.
  const auto = await api<{ error: { code: string; message: string } }>('PUT', '/kernels/remote/auto-checkpoint', { enabled: true, idleMs: 200 });
  expect(auto.status).toBe(409);
  expect(auto.body.error.code).toBe('STORE_NOT_LOCAL');
  expect(auto.body.error.message).toContain(`${ROOT}/remote`);
  await kernel.client.execute('data.append(10)');

  // Through the bucket: a new checkpoint of the source, restored into a kernel started by the service.
  const moved = await api<RestoreOutcome>('POST', '/kernels/remote/migrate', { store: 'remote', id: 'moved' });
  expect(moved.status, JSON.stringify(moved.body)).toBe(200);
  startedPids.push(moved.body.kernel.pid);
  expect(moved.body).toMatchObject({ ok: true, lost: [], kernel: { id: 'moved', store: 'remote' } });
  const ids = await store.list();
  expect(ids).toHaveLength(2);
  expect(ids[0]).toBe(saved.body.id);
  const target = await attachKernel(moved.body.connectionFile);
  try {
    expect(await valueOf(target.client, '(float(noise.sum()) == total, data[-1])')).toBe('(True, 10)');
  } finally {
    await target.detach();
  }

  // Any node could: restore the bucket's latest into another fresh kernel.
  const restored = await api<RestoreOutcome>('POST', '/stores/remote/restore', { id: 'again' });
  expect(restored.status, JSON.stringify(restored.body)).toBe(200);
  startedPids.push(restored.body.kernel.pid);
  expect(restored.body).toMatchObject({ ok: true, lost: [] });

  // Undo and checkout read the store's files from the kernel's machine: not an object store.
  const undo = await api<{ error: { code: string; message: string } }>('POST', '/kernels/again/undo', {});
  expect(undo.status).toBe(409);
  expect(undo.body.error.code).toBe('STORE_NOT_LOCAL');
  expect((await api<{ error: { code: string } }>('POST', '/stores/nothing-here/restore', {})).body.error.code).toBe('UNKNOWN_STORE');
  store.close();
}, 240_000);

it('refuses a store root it cannot use at start: an unknown scheme, a missing bucket', async () => {
  await expect(startService({ token: TOKEN, port: 0, storeRoot: 'gs://bucket/x', python: testPython(), logger: false })).rejects.toMatchObject({ code: 'STORE_URL_UNSUPPORTED' });
  await expect(startService({ token: TOKEN, port: 0, storeRoot: 's3://no-such-bucket-here/x', python: testPython(), logger: false })).rejects.toMatchObject({ code: 'STORE_BUCKET_MISSING' });
});
