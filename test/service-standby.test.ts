// Issue 17, pre-copy for platforms: `nbferry serve --standby` gives each kernel auto-checkpointing
// into a directory store a standby kernel that follows its checkpoints; a local migrate goes into
// it and moves only what changed since its last catch-up. A standby that cannot be used makes the
// migration fall back to a fresh kernel; unregistering, turning auto-checkpoint off and stopping the
// service shut the standby kernel down. Real kernels, the service over HTTP.
import { mkdir, mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { attachKernel, launchKernel, type Kernel } from '@nbferry/kernel';
import { ServiceMetrics, startService, type KernelServiceOptions, type KernelState, type RestoreOutcome, type RunningService } from '@nbferry/service';
import { spawnNbferry } from './support/cli.js';
import { runCell, valueOf } from './support/kernel-sandbox.js';
import { killAll, pidAlive, waitUntil } from './support/processes.js';
import { parseExposition, sampleValue } from './support/prometheus.js';
import { testPython } from './support/python.js';
import { serviceRequest } from './support/service-api.js';

const TOKEN = 'standby-test-token';
const CHECKSUM = '__import__("hashlib").sha256(big.tobytes()).hexdigest()';

describe('nbferry serve --standby', () => {
  let dir = '';
  let running: RunningService | undefined;
  const kernels: Kernel[] = [];
  /** Kernels the service handed out (they outlive it, as users' kernels must). */
  const handedOut: number[] = [];

  beforeEach(async () => {
    dir = await realpath(await mkdtemp(join(tmpdir(), 'nbferry-standby-')));
  });
  afterEach(async () => {
    await running?.close();
    running = undefined;
    for (const kernel of kernels.splice(0)) await kernel.dispose().catch(() => {});
    killAll(handedOut.splice(0));
    await rm(dir, { recursive: true, force: true });
  });

  async function start(warmKernels: KernelServiceOptions['warmKernels']): Promise<RunningService> {
    running = await startService({
      token: TOKEN,
      port: 0,
      logger: false,
      storeRoot: join(dir, 'stores'),
      python: testPython(),
      defaultCwd: dir,
      metrics: new ServiceMetrics({ processMetrics: false }),
      warmKernels,
      standby: true,
    });
    return running;
  }

  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await serviceRequest<T>(running!.url, TOKEN, method, path, body);
    expect(response.status, `${method} ${path}: ${JSON.stringify(response.body)}`).toBeLessThan(300);
    return response.body;
  }

  /** A kernel holding 16 MB of unseeded floats (only a load can bring them back), registered with auto-checkpoint after `idleMs`. */
  async function protectedSource(id: string, idleMs: number): Promise<Kernel> {
    const kernel = await launchKernel({ python: testPython(), cwd: dir });
    kernels.push(kernel);
    await call('POST', '/kernels', { connectionFile: kernel.connectionFile, id, autoCheckpointIdleMs: idleMs });
    await runCell(kernel.client, 'import numpy as np\nbig = np.random.default_rng().random(2 * 2**20)');
    await runCell(kernel.client, 'small = [int(x * 1000) for x in big[:5]]');
    return kernel;
  }

  /** Waits until the kernel is protected and its standby holds that latest checkpoint. */
  async function standbySynced(id: string): Promise<KernelState> {
    let state: KernelState | undefined;
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      state = await call<KernelState>('GET', `/kernels/${id}`);
      if (state.protected && state.lastCheckpoint && state.standby?.syncedCheckpoint === state.lastCheckpoint.id) return state;
      expect(state.standby?.lastError ?? null, 'the standby failed').toBeNull();
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`the standby of ${id} did not catch up within 120 s: ${JSON.stringify(state)}`);
  }

  async function scrape(name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
    return sampleValue(parseExposition(await running!.service.metrics.registry.metrics()), name, labels);
  }

  async function checksumIn(connectionFile: string): Promise<string | undefined> {
    const kernel = await attachKernel(connectionFile);
    try {
      return await valueOf(kernel.client, CHECKSUM);
    } finally {
      await kernel.detach();
    }
  }

  /** The pid of the kernel's standby once it has started. */
  async function standbyPid(id: string): Promise<number> {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const pid = (await call<KernelState>('GET', `/kernels/${id}`)).standby?.pid;
      if (pid != null) return pid;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`no standby kernel for ${id} within 60 s`);
  }

  /** The process is gone (reaped) within a few seconds. */
  async function gone(pid: number): Promise<boolean> {
    return waitUntil(() => !pidAlive(pid), 10_000);
  }

  it('follows the auto-checkpoints in a pooled kernel, and a migration goes into it, moving only what changed since', async () => {
    const svc = await start({ size: 1, modules: ['numpy'] });
    await svc.service.warmPool!.whenFilled();
    // Idle 1.5 s: the last cell below is not auto-checkpointed before the migration asks.
    const source = await protectedSource('src', 1500);
    const synced = await standbySynced('src');
    expect(synced.standby).toMatchObject({ kernelFrom: 'pool', lastError: null });
    const standby = synced.standby!.pid!;
    expect(pidAlive(standby)).toBe(true);
    expect(await scrape('nbferry_standby_kernels')).toBe(1);

    // A migration into another directory is not the standby's: it goes into a fresh kernel, and the standby stays.
    const elsewhere = join(dir, 'elsewhere');
    await mkdir(elsewhere);
    const other = await call<RestoreOutcome>('POST', '/kernels/src/migrate', { id: 'elsewhere', cwd: elsewhere });
    handedOut.push(other.kernel.pid);
    expect(other).toMatchObject({ ok: true, lost: [] });
    expect(other.kernelFrom).not.toBe('standby');
    expect(other.standbyUnusable).toMatch(/another working directory/);
    expect((await call<KernelState>('GET', '/kernels/src')).standby).toMatchObject({ pid: standby, lastError: null });
    await call('DELETE', '/kernels/elsewhere');

    // A last change the standby has not seen (unseeded: it must be moved, not rerun).
    await runCell(source.client, 'small.append(int(np.random.default_rng().integers(10**9)))');
    const moved = await call<RestoreOutcome>('POST', '/kernels/src/migrate', { id: 'moved' });
    handedOut.push(moved.kernel.pid);
    expect(moved).toMatchObject({ ok: true, lost: [], kernelFrom: 'standby' });
    expect(moved.standbyUnusable).toBeUndefined();
    expect(moved.kernel.pid).toBe(standby);
    // The 16 MB array the standby already held stayed: neither loaded nor rerun; `small` came over.
    const catchUp = moved.standby!;
    expect(catchUp.loads.some((l) => /\bbig\b/.test(l)), catchUp.loads.join('; ')).toBe(false);
    expect(catchUp.reruns, catchUp.reruns.join('; ')).toEqual([]);
    expect(catchUp.loads.some((l) => /\bsmall\b/.test(l)), catchUp.loads.join('; ')).toBe(true);
    expect(catchUp.loadedBytes).toBeLessThan(1 << 20);
    expect(catchUp.keptGroups).toBeGreaterThanOrEqual(1);
    expect(await checksumIn(moved.connectionFile)).toBe(await valueOf(source.client, CHECKSUM));
    const target = await attachKernel(moved.connectionFile);
    try {
      expect(await valueOf(target.client, 'small')).toBe(await valueOf(source.client, 'small'));
    } finally {
      await target.detach();
    }

    // The standby is the new registered kernel now, continuing the store (its next checkpoint loses nothing); the source has no standby left.
    const next = await call<{ unrecoverable: unknown[] }>('POST', '/kernels/moved/checkpoint', {});
    expect(next.unrecoverable).toEqual([]);
    expect((await call<KernelState>('GET', '/kernels/src')).standby).toBeUndefined();
    expect(await scrape('nbferry_standby_kernels')).toBe(0);
    expect(await scrape('nbferry_fresh_kernels_total', { source: 'standby' })).toBe(1);
    console.log(`standby migration over HTTP: checkpoint ${catchUp.checkpointMs} ms, catch-up ${catchUp.syncMs} ms, loaded ${catchUp.loadedBytes} B (${catchUp.loads.join('; ')}), kept ${catchUp.keptGroups} groups`);
  }, 300_000);

  it('falls back to a fresh kernel when the standby died, and shuts standbys down on auto-checkpoint off, unregister and close', async () => {
    await start({ size: 0, modules: ['numpy'] });
    const source = await protectedSource('src', 100);
    const synced = await standbySynced('src');
    expect(synced.standby?.kernelFrom).toBe('launched');
    const doomed = synced.standby!.pid!;
    process.kill(doomed, 'SIGKILL');
    expect(await waitUntil(() => !pidAlive(doomed), 10_000)).toBe(true);
    // GET shows it dead (the service notices the process exit).
    let shown: string | null | undefined;
    for (let i = 0; i < 100 && !shown; i++) {
      shown = (await call<KernelState>('GET', '/kernels/src')).standby?.lastError;
      if (!shown) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(shown).toMatch(/not running/);

    const moved = await call<RestoreOutcome>('POST', '/kernels/src/migrate', { id: 'moved' });
    handedOut.push(moved.kernel.pid);
    expect(moved).toMatchObject({ ok: true, lost: [], kernelFrom: 'launched' });
    expect(moved.standbyUnusable).toMatch(/not running/);
    expect(moved.kernel.pid).not.toBe(doomed);
    expect(await checksumIn(moved.connectionFile)).toBe(await valueOf(source.client, CHECKSUM));

    // Auto-checkpoint on for the moved kernel: it gets a standby; off: the standby kernel is shut down.
    await call('PUT', '/kernels/moved/auto-checkpoint', { enabled: true, idleMs: 100 });
    const first = await standbyPid('moved');
    await call('PUT', '/kernels/moved/auto-checkpoint', { enabled: false });
    expect(await gone(first), `standby ${first} still runs after auto-checkpoint off`).toBe(true);
    expect((await call<KernelState>('GET', '/kernels/moved')).standby).toBeUndefined();

    // Unregistering shuts its standby down; the kernel itself (the user's) keeps running.
    await call('PUT', '/kernels/moved/auto-checkpoint', { enabled: true, idleMs: 100 });
    const second = await standbyPid('moved');
    await call('DELETE', '/kernels/moved');
    expect(await gone(second), `standby ${second} still runs after unregister`).toBe(true);
    expect(pidAlive(moved.kernel.pid)).toBe(true);

    // Stopping the service shuts every standby down.
    await call('POST', '/kernels', { connectionFile: moved.connectionFile, id: 'again', autoCheckpointIdleMs: 100 });
    const third = await standbyPid('again');
    await running!.close();
    running = undefined;
    expect(await gone(third), `standby ${third} still runs after the service stopped`).toBe(true);
    expect(pidAlive(moved.kernel.pid)).toBe(true);
  }, 300_000);

  it('nbferry serve --standby: a kernel registered with auto-checkpoint gets a standby, shut down with the service on SIGTERM', async () => {
    const { child, output, exited } = spawnNbferry(
      ['serve', '--stores', join(dir, 'stores'), '--port', '0', '--python', testPython(), '--standby', '--warm-modules', 'json'],
      { env: { NBFERRY_SERVICE_TOKEN: TOKEN } },
    );
    try {
      let url: string | undefined;
      expect(await waitUntil(() => (url = /listening at (http:\/\/127\.0\.0\.1:\d+)/i.exec(output.stdout)?.[1]) !== undefined, 30_000), output.stderr).toBe(true);
      const source = await launchKernel({ python: testPython(), cwd: dir });
      kernels.push(source);
      expect((await serviceRequest(url!, TOKEN, 'POST', '/kernels', { connectionFile: source.connectionFile, id: 'src', autoCheckpointIdleMs: 100 })).status).toBe(201);
      await runCell(source.client, 'x = 42');
      let state: KernelState | undefined;
      for (let i = 0; i < 300 && !state?.standby?.syncedCheckpoint; i++) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        state = (await serviceRequest<KernelState>(url!, TOKEN, 'GET', '/kernels/src')).body;
      }
      expect(state?.standby, JSON.stringify(state)).toMatchObject({ kernelFrom: 'launched', syncedCheckpoint: state?.lastCheckpoint?.id, lastError: null });
      const metrics = await fetch(`${url!}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(sampleValue(parseExposition(await metrics.text()), 'nbferry_standby_kernels', {})).toBe(1);
      const pid = state!.standby!.pid!;
      expect(pidAlive(pid)).toBe(true);
      child.kill('SIGTERM');
      expect((await exited).code).toBe(143);
      expect(await waitUntil(() => !pidAlive(pid), 10_000), `the standby kernel ${pid} still runs after the service stopped`).toBe(true);
      expect(pidAlive(state!.pid)).toBe(true); // the registered kernel is the user's: it keeps running
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 120_000);
});
