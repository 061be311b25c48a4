// Issue 15, `nbferry serve`: the service on 127.0.0.1 (ephemeral port) with real kernels, driven
// over HTTP as an operator's tooling would: auth, register, checkpoint, log, restore, migrate,
// auto-checkpoint, metrics scraped and parsed.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { attachKernel, launchKernel, type Kernel } from '@nbferry/kernel';
import { cgroupMemoryLimit, startService, type CheckpointSummary, type KernelState, type RestoreOutcome, type RunningService } from '@nbferry/service';
import { setTimeout as sleep } from 'node:timers/promises';
import { runCell, valueOf } from './support/kernel-sandbox.js';
import { testPython } from './support/python.js';
import { parseExposition, sampleValue } from './support/prometheus.js';
import { killAll } from './support/processes.js';

const TOKEN = 'test-token-0123456789';

describe('nbferry serve (HTTP API)', () => {
  let dir = '';
  let running: RunningService;
  const kernels: Kernel[] = [];
  /** Kernels the service started (restore/migrate targets outlive it, as a user's kernels must). */
  const startedPids: number[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nbferry-serve-'));
    running = await startService({ token: TOKEN, port: 0, storeRoot: join(dir, 'stores'), python: testPython(), defaultCwd: dir, logger: false });
  });
  afterEach(async () => {
    await running.close();
    for (const kernel of kernels.splice(0)) await kernel.dispose().catch(() => {});
    killAll(startedPids.splice(0));
    await rm(dir, { recursive: true, force: true });
  });

  async function api<T = unknown>(method: string, path: string, body?: unknown, token: string | null = TOKEN): Promise<{ status: number; body: T; text: string }> {
    const headers: Record<string, string> = {};
    if (token !== null) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${running.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await response.text();
    const json = (response.headers.get('content-type') ?? '').includes('json') && text ? (JSON.parse(text) as T) : (undefined as T);
    return { status: response.status, body: json, text };
  }

  async function eventually(condition: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!(await condition())) {
      if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
      await sleep(100);
    }
  }

  async function kernelWith(...cells: string[]): Promise<Kernel> {
    const kernel = await launchKernel({ python: testPython(), cwd: dir });
    kernels.push(kernel);
    for (const code of cells) await runCell(kernel.client, code);
    return kernel;
  }

  it('listens on loopback, answers /health without a token, and refuses every other route with a missing or wrong token', async () => {
    expect(new URL(running.url).hostname).toBe('127.0.0.1');
    expect(await api('GET', '/health', undefined, null)).toMatchObject({ status: 200, body: { status: 'ok', kernels: 0 } });
    for (const [method, path] of [
      ['GET', '/kernels'],
      ['GET', '/metrics'],
      ['POST', '/kernels'],
      ['POST', '/notice'],
      ['POST', '/kernels/x/checkpoint'],
    ] as const) {
      const missing = await api<{ error: { code: string } }>(method, path, method === 'POST' ? {} : undefined, null);
      expect(missing.status, `${method} ${path} without a token`).toBe(401);
      expect(missing.body.error.code).toBe('UNAUTHORIZED');
      expect((await api(method, path, method === 'POST' ? {} : undefined, `${TOKEN}x`)).status, `${method} ${path} with a wrong token`).toBe(401);
    }
    expect((await api('GET', '/kernels')).status).toBe(200);
  });

  it('registers a kernel by connection file, checkpoints it, logs, restores into a fresh kernel that continues the store, and counts it all in /metrics', async () => {
    const kernel = await kernelWith('import numpy as np\nrng = np.random.default_rng(7)', 'weights = rng.normal(size=(200, 50))');
    const registered = await api<KernelState>('POST', '/kernels', { connectionFile: kernel.connectionFile, id: 'alice' });
    expect(registered.status).toBe(201);
    expect(registered.body).toMatchObject({ id: 'alice', store: 'alice', shim: 'injected', protected: false, source: { kind: 'connection-file' } });

    const first = await api<CheckpointSummary>('POST', '/kernels/alice/checkpoint', {});
    expect(first.status).toBe(200);
    expect(first.body.totalBytes).toBeGreaterThan(0);
    expect(first.body.unrecoverable).toEqual([]);
    expect((await api<KernelState>('GET', '/kernels/alice')).body).toMatchObject({ protected: true, lastCheckpoint: { id: first.body.id } });

    await runCell(kernel.client, 'total = float(weights.sum())');
    // The service learns of the cell from its own iopub, which may arrive after this client saw the reply.
    await eventually(async () => (await api<KernelState>('GET', '/kernels/alice')).body.protected === false, 'alice is unprotected by the new cell', 10_000);
    const second = await api<CheckpointSummary>('POST', '/kernels/alice/checkpoint', { deadlineSeconds: 60 });
    expect(second.status).toBe(200);
    expect(second.body.newBytes).toBeLessThan(second.body.totalBytes); // incremental: weights not written again

    const log = await api<{ checkpoints: { id: string; parent?: string; latest: boolean }[] }>('GET', '/stores/alice/log');
    expect(log.body.checkpoints.map((c) => c.id)).toEqual([first.body.id, second.body.id]);
    expect(log.body.checkpoints[1]).toMatchObject({ parent: first.body.id, latest: true });

    const restored = await api<RestoreOutcome>('POST', '/stores/alice/restore', { id: 'alice-2' });
    expect(restored.status).toBe(200);
    startedPids.push(restored.body.kernel.pid);
    expect(restored.body).toMatchObject({ ok: true, lost: [], kernel: { id: 'alice-2', store: 'alice', source: { kind: 'started', from: 'store:alice' } } });
    const target = await attachKernel(restored.body.connectionFile);
    try {
      expect(await valueOf(target.client, 'total == float(weights.sum())')).toBe('True');
      expect(await valueOf(target.client, 'rng.integers(1000)')).toBe(await valueOf(kernel.client, 'rng.integers(1000)'));
    } finally {
      await target.detach();
    }

    expect((await api<{ stores: string[] }>('GET', '/stores')).body.stores).toEqual(['alice']);
    expect(await api('POST', '/stores/bob/restore', {})).toMatchObject({ status: 404, body: { error: { code: 'UNKNOWN_STORE' } } });
    expect(await api('POST', '/stores/alice/restore', { checkpointId: 'nope' })).toMatchObject({ status: 404 });
    const gc = await api<{ deletedCheckpoints: string[] }>('POST', '/stores/alice/gc', { keep: 1 });
    expect(gc.body.deletedCheckpoints).toEqual([first.body.id]);

    const metrics = await api('GET', '/metrics');
    expect(metrics.status).toBe(200);
    const samples = parseExposition(metrics.text);
    expect(sampleValue(samples, 'nbferry_checkpoints_total', { trigger: 'api', outcome: 'committed' })).toBe(2);
    expect(sampleValue(samples, 'nbferry_checkpoint_duration_seconds_count', { trigger: 'api' })).toBe(2);
    expect(sampleValue(samples, 'nbferry_checkpoint_bytes_written_total', { trigger: 'api' })).toBe(first.body.newBytes + second.body.newBytes);
    expect(sampleValue(samples, 'nbferry_restore_duration_seconds_count', { operation: 'restore' })).toBe(1);
    expect(sampleValue(samples, 'nbferry_kernels_registered', {})).toBe(2);
    // alice-2 restored from the latest checkpoint is protected by it; alice too (no cell since).
    expect(sampleValue(samples, 'nbferry_kernels_protected', {})).toBe(2);
  });

  it('refuses a checkpoint that would lose a variable (409, listed in the kernel state), commits it with allowLoss, and counts the loss', async () => {
    // A generator made before the service attached: no recorded cell can remake it.
    const kernel = await kernelWith('gen = (i for i in range(3))', 'x = 1');
    await api('POST', '/kernels', { connectionFile: kernel.connectionFile, id: 'k' });
    const refused = await api<{ error: { code: string; unrecoverable: { name: string }[] } }>('POST', '/kernels/k/checkpoint', {});
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('CHECKPOINT_WOULD_LOSE');
    expect(refused.body.error.unrecoverable.map((u) => u.name)).toContain('gen');
    const state = (await api<KernelState>('GET', '/kernels/k')).body;
    expect(state.unsaveable.map((u) => u.name)).toContain('gen');
    expect(state.unknownProvenance).toContain('gen');
    expect(state.lastCheckpoint).toBeUndefined();

    const allowed = await api<CheckpointSummary>('POST', '/kernels/k/checkpoint', { allowLoss: true });
    expect(allowed.status).toBe(200);
    expect(allowed.body.unrecoverable.map((u) => u.name)).toContain('gen');
    expect((await api<KernelState>('GET', '/kernels/k')).body.protected).toBe(false); // something is lost
    const samples = parseExposition((await api('GET', '/metrics')).text);
    expect(sampleValue(samples, 'nbferry_checkpoints_total', { trigger: 'api', outcome: 'refused' })).toBe(1);
    expect(sampleValue(samples, 'nbferry_lost_variables_total', { operation: 'checkpoint' })).toBeGreaterThanOrEqual(1);
  });

  it('abandons a checkpoint not done by its deadline (504), committing nothing', async () => {
    const kernel = await kernelWith('import os\nblob = os.urandom(64 * 2**20)');
    await api('POST', '/kernels', { connectionFile: kernel.connectionFile, id: 'late' });
    const late = await api<{ error: { code: string } }>('POST', '/kernels/late/checkpoint', { deadlineSeconds: 0.05 });
    expect(late).toMatchObject({ status: 504, body: { error: { code: 'CHECKPOINT_DEADLINE_PASSED' } } });
    const state = (await api<KernelState>('GET', '/kernels/late')).body;
    expect(state.lastCheckpoint).toBeUndefined();
    expect(state.lastError?.code).toBe('CHECKPOINT_DEADLINE_PASSED');
    expect((await api<{ checkpoints: unknown[] }>('GET', '/stores/late/log')).body.checkpoints).toEqual([]);
    // The kernel is fine and the next checkpoint, with time, commits.
    expect((await api('POST', '/kernels/late/checkpoint', {})).status).toBe(200);
    const samples = parseExposition((await api('GET', '/metrics')).text);
    expect(sampleValue(samples, 'nbferry_checkpoints_total', { trigger: 'api', outcome: 'aborted' })).toBe(1);
  });

  it('registers a kernel id once when two registrations of it arrive together: the other is refused (409 KERNEL_ID_TAKEN)', async () => {
    // As the JupyterLab extension's requests did after a kernel restart: both pass an "is it
    // registered?" check before either is done attaching, and the second replaced the first in
    // the service (whose auto-checkpointer kept running, unreachable).
    const kernel = await kernelWith('x = 1');
    const body = { connectionFile: kernel.connectionFile, id: 'twice', autoCheckpointIdleMs: 50 };
    const both = await Promise.all([api<{ error: { code: string; message: string } }>('POST', '/kernels', body), api<{ error: { code: string; message: string } }>('POST', '/kernels', body)]);
    expect(both.map((r) => r.status).sort()).toEqual([201, 409]);
    const refused = both.find((r) => r.status === 409)!;
    expect(refused.body.error.code).toBe('KERNEL_ID_TAKEN');
    expect(refused.body.error.message).toMatch(/"twice" is (already registered|being registered)/);
    expect((await api<{ kernels: KernelState[] }>('GET', '/kernels')).body.kernels.map((k) => k.id)).toEqual(['twice']);

    // The registration that won works (its auto-checkpoint protects the next cell), and the id is free again once it is let go.
    await runCell(kernel.client, 'y = x + 1');
    await eventually(async () => (await api<KernelState>('GET', '/kernels/twice')).body.protected, 'protected by an auto-checkpoint');
    expect(await api('POST', '/kernels', body)).toMatchObject({ status: 409, body: { error: { code: 'KERNEL_ID_TAKEN' } } });
    expect((await api('DELETE', '/kernels/twice')).status).toBe(204);
    expect((await api('POST', '/kernels', body)).status).toBe(201);
    expect((await api('DELETE', '/kernels/twice')).status).toBe(204);
  });

  it('holds the id a restore asked for until it is done: a registration of that id meanwhile is refused, and the restore registers it', async () => {
    // Before, the id was checked at the start and taken at the end: the registration won, and the
    // restore failed with 409 after its work, its fresh kernel left running unregistered.
    const source = await kernelWith();
    expect((await api('POST', '/kernels', { connectionFile: source.connectionFile, id: 'carol' })).status).toBe(201);
    await runCell(source.client, 'import time\ntime.sleep(2)\ngen = (i for i in range(3))'); // rerun on restore: 2 s
    expect((await api('POST', '/kernels/carol/checkpoint', {})).status).toBe(200);
    const other = await kernelWith('x = 1');
    const restoring = api<RestoreOutcome>('POST', '/stores/carol/restore', { id: 'carol-2' });
    await sleep(300);
    const refused = await api<{ error: { code: string; message: string } }>('POST', '/kernels', { connectionFile: other.connectionFile, id: 'carol-2' });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({ code: 'KERNEL_ID_TAKEN', message: expect.stringMatching(/"carol-2" is being registered/) });
    const restored = await restoring;
    expect(restored.status).toBe(200);
    startedPids.push(restored.body.kernel.pid);
    expect(restored.body.kernel).toMatchObject({ id: 'carol-2', source: { kind: 'started', from: 'store:carol' } });
  });

  it('answers bad requests with typed errors: unknown kernel 404, unknown field or missing target 400', async () => {
    expect(await api('POST', '/kernels/nope/checkpoint', {})).toMatchObject({ status: 404, body: { error: { code: 'UNKNOWN_KERNEL' } } });
    expect(await api('POST', '/kernels', { connectionFile: '/x.json', deadline: 3 })).toMatchObject({ status: 400, body: { error: { code: 'BAD_REQUEST' } } });
    expect(await api('POST', '/kernels', { serverUrl: 'http://127.0.0.1:1/' })).toMatchObject({ status: 400, body: { error: { code: 'BAD_REQUEST' } } });
    expect(await api('POST', '/notice', { deadlineSeconds: -1 })).toMatchObject({ status: 400 });
    const missing = await api<{ error: { code: string } }>('POST', '/kernels', { connectionFile: join(dir, 'no-such-kernel.json') });
    expect(missing.status).toBe(500);
    expect(missing.body.error.code).not.toBe('INTERNAL'); // a typed error from the kernel layer
  });

  it('auto-checkpoints after each cell once the policy is on, and migrates live into a fresh kernel in the source directory', async () => {
    const kernel = await kernelWith('import os\nnumbers = list(range(1000))');
    await api('POST', '/kernels', { connectionFile: kernel.connectionFile, id: 'auto' });
    const policy = await api<KernelState>('PUT', '/kernels/auto/auto-checkpoint', { enabled: true, idleMs: 50 });
    expect(policy.body.autoCheckpoint).toMatchObject({ enabled: true, idleMs: 50 });
    await runCell(kernel.client, 'squares = [n * n for n in numbers]');
    await eventually(async () => (await api<KernelState>('GET', '/kernels/auto')).body.lastCheckpoint?.trigger === 'auto', 'an auto-checkpoint');
    await eventually(async () => (await api<KernelState>('GET', '/kernels/auto')).body.protected, 'protected');

    const migrated = await api<RestoreOutcome>('POST', '/kernels/auto/migrate', {});
    expect(migrated.status).toBe(200);
    startedPids.push(migrated.body.kernel.pid);
    expect(migrated.body).toMatchObject({ ok: true, lost: [] });
    const target = await attachKernel(migrated.body.connectionFile);
    try {
      expect(await valueOf(target.client, 'squares[999]')).toBe('998001');
      expect(await valueOf(target.client, 'os.getcwd()')).toBe(`'${dir}'`);
    } finally {
      await target.detach();
    }
    const samples = parseExposition((await api('GET', '/metrics')).text);
    expect(sampleValue(samples, 'nbferry_checkpoints_total', { trigger: 'auto', outcome: 'committed' })).toBeGreaterThanOrEqual(1);
    expect(sampleValue(samples, 'nbferry_restore_duration_seconds_count', { operation: 'migrate' })).toBe(1);
  });

  it('right-sizing: checkpoints a kernel whose memory passes the threshold of its limit, and not before', async () => {
    const kernel = await kernelWith('import numpy as np\nsmall = np.arange(10)');
    const registered = await api<KernelState>('POST', '/kernels', { connectionFile: kernel.connectionFile, id: 'mem' });
    const rss = Number(/^VmRSS:\s+(\d+)/m.exec(await readFile(`/proc/${registered.body.pid}/status`, 'utf8'))![1]) * 1024;
    // A limit the kernel is well under now, and passes once it holds 200 MB more.
    const limitBytes = rss + 150 * 2 ** 20;
    const watched = await api<KernelState>('PUT', '/kernels/mem/memory-watch', { enabled: true, limitBytes, thresholdFraction: 0.9, intervalMs: 100 });
    expect(watched.status).toBe(200);
    expect(watched.body.memoryWatch).toMatchObject({ enabled: true, limitBytes, limitSource: 'configured' });
    await sleep(500);
    expect((await api<KernelState>('GET', '/kernels/mem')).body.lastCheckpoint).toBeUndefined();

    await runCell(kernel.client, 'big = np.ones(200 * 2**20, dtype=np.uint8)');
    await eventually(async () => (await api<KernelState>('GET', '/kernels/mem')).body.lastCheckpoint?.trigger === 'memory', 'a memory checkpoint');
    const state = (await api<KernelState>('GET', '/kernels/mem')).body;
    expect(state.memoryWatch.rssBytes).toBeGreaterThan(0.9 * limitBytes);
    expect(state.memoryWatch.checkpoints).toBe(1);
    expect(state.protected).toBe(true);
    const samples = parseExposition((await api('GET', '/metrics')).text);
    expect(sampleValue(samples, 'nbferry_checkpoints_total', { trigger: 'memory', outcome: 'committed' })).toBe(1);
  });

  it('refuses a memory watch without a limit when the kernel\'s cgroup sets none', async () => {
    const kernel = await kernelWith('x = 1');
    const { pid } = (await api<KernelState>('POST', '/kernels', { connectionFile: kernel.connectionFile, id: 'nolimit' })).body;
    const response = await api<{ error: { code: string } }>('PUT', '/kernels/nolimit/memory-watch', { enabled: true });
    if ((await cgroupMemoryLimit(pid)) === undefined) expect(response).toMatchObject({ status: 400, body: { error: { code: 'BAD_REQUEST' } } });
    else expect(response.status).toBe(200); // a machine that does limit the kernel: the cgroup's limit is used
  });
});

