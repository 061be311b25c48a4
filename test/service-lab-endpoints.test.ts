// Issue 16, the service endpoints the JupyterLab panel uses: undo and checkout in the same kernel,
// the history per kernel, the plan of the last checkpoint, and long operations as jobs with byte
// progress. A real kernel registered by connection file with a real `nbferry serve` on 127.0.0.1.
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startService, type CheckoutOutcome, type CheckpointSummary, type HistoryEntry, type JobView, type PlanView, type RunningService } from '@nbferry/service';
import { runCell, useKernelSandbox, valueOf } from './support/kernel-sandbox.js';
import { testPython } from './support/python.js';
import { serviceRequest } from './support/service-api.js';

const TOKEN = 'lab-endpoints-token-0123456789';

describe('nbferry serve: the JupyterLab panel\'s endpoints', () => {
  const sandbox = useKernelSandbox('nbferry-lab-endpoints-');
  let running: RunningService;

  beforeEach(async () => {
    running = await startService({ token: TOKEN, port: 0, storeRoot: join(sandbox.dir(), 'stores'), python: testPython(), defaultCwd: sandbox.dir(), logger: false });
  });
  afterEach(async () => {
    await running.close();
  });

  const api = <T = unknown>(method: string, path: string, body?: unknown) => serviceRequest<T>(running.url, TOKEN, method, path, body);

  async function finished(job: string): Promise<JobView> {
    const end = Date.now() + 60_000;
    for (;;) {
      const view = (await api<JobView>('GET', `/jobs/${job}`)).body;
      if (view.state !== 'running') return view;
      if (Date.now() > end) throw new Error(`job ${job} still running: ${JSON.stringify(view)}`);
      await sleep(50);
    }
  }

  it('undoes the last cell in the same kernel, lists the history newest first, shows the plan, and checks out a checkpoint as a job', async () => {
    const kernel = await sandbox.kernel();
    expect((await api('POST', '/kernels', { connectionFile: kernel.connectionFile, id: 'nb' })).status).toBe(201);
    // Nothing to show or undo before the first checkpoint: typed errors, not 500s.
    expect(await api('GET', '/kernels/nb/plan')).toMatchObject({ status: 404, body: { error: { code: 'NO_CHECKPOINT' } } });
    expect(await api('POST', '/kernels/nb/undo')).toMatchObject({ status: 409, body: { error: { code: 'NOTHING_TO_UNDO' } } });
    expect(await api('GET', '/kernels/nb/history')).toMatchObject({ status: 200, body: [] });

    await runCell(kernel.client, 'import numpy as np\nweights = np.arange(200_000, dtype=np.float64)');
    await runCell(kernel.client, 'gen = (i for i in range(3))\nx = 1');
    const first = (await api<CheckpointSummary>('POST', '/kernels/nb/checkpoint', {})).body;
    await runCell(kernel.client, 'x = 2\ny = x * 10');
    const second = (await api<CheckpointSummary>('POST', '/kernels/nb/checkpoint', {})).body;
    expect(second.id).not.toBe(first.id);

    const history = await api<HistoryEntry[]>('GET', '/kernels/nb/history');
    expect(history.status).toBe(200);
    expect(history.body.map((h) => h.id)).toEqual([second.id, first.id]);
    expect(history.body[0]).toMatchObject({ parent: first.id, latest: true, cell: { firstLine: 'x = 2' }, bytesWritten: second.newBytes });
    // x and y changed; weights did not (gen has no fingerprint, so it is listed too: history-log.ts).
    expect(history.body[0]!.changed).toEqual(expect.arrayContaining(['x', 'y']));
    expect(history.body[0]!.changed).not.toContain('weights');
    expect(history.body[1]).toMatchObject({ parent: null, latest: false, cell: { firstLine: 'gen = (i for i in range(3))' }, bytesWritten: first.newBytes });
    expect(history.body[1]!.changed).toEqual(expect.arrayContaining(['gen', 'weights', 'x']));

    const plan = await api<PlanView>('GET', '/kernels/nb/plan');
    expect(plan.status).toBe(200);
    expect(plan.body.checkpointId).toBe(second.id);
    const byName = new Map(plan.body.variables.map((v) => [v.name, v]));
    expect(byName.get('weights')).toMatchObject({ decision: 'save' });
    expect(byName.get('weights')!.bytes).toBeGreaterThanOrEqual(200_000 * 8);
    // A generator cannot be pickled: the planner reruns its cell.
    expect(byName.get('gen')).toMatchObject({ decision: 'recompute' });
    expect(byName.get('gen')!.reason).not.toBe('');
    expect(plan.body.unsaveable).toEqual([]);

    // Undo the last cell (no cell since the second checkpoint: back to its parent, the first).
    await runCell(kernel.client, 'z = 3');
    const undone = await api<CheckoutOutcome>('POST', '/kernels/nb/undo');
    expect(undone.status).toBe(200);
    // A cell ran since the second checkpoint: undo goes back to it, deleting z.
    expect(undone.body).toMatchObject({ ok: true, checkpointId: second.id, deleted: ['z'], lost: [] });
    expect(await valueOf(kernel.client, "'z' in globals()")).toBe('False');
    const again = await api<CheckoutOutcome>('POST', '/kernels/nb/undo');
    expect(again.body).toMatchObject({ ok: true, checkpointId: first.id, deleted: ['y'], lost: [] });
    expect(again.body.verification.find((v) => v.name === 'x')).toMatchObject({ outcome: expect.stringMatching(/^(restored|recomputed-equal)$/) });
    expect(again.body.timings.totalMs).toBeGreaterThan(0);
    expect(await valueOf(kernel.client, 'x')).toBe('1');
    expect((await api<PlanView>('GET', '/kernels/nb/plan')).body.checkpointId).toBe(first.id);

    // Checkout (same kernel) as a job: 202 at once, the result once done.
    const started = await api<{ job: string }>('POST', `/kernels/nb/checkout?async=1`, { checkpointId: second.id });
    expect(started.status).toBe(202);
    const job = await finished(started.body.job);
    expect(job).toMatchObject({ state: 'done', operation: 'checkout', error: null, result: { ok: true, checkpointId: second.id } });
    expect(await valueOf(kernel.client, 'y')).toBe('20');

    expect(await api('POST', '/kernels/nb/checkout', { checkpointId: 'nope' })).toMatchObject({ status: 404 });
    expect(await api('POST', '/kernels/nb/checkout', {})).toMatchObject({ status: 400, body: { error: { code: 'BAD_REQUEST' } } });
    expect(await api('GET', '/jobs/nope')).toMatchObject({ status: 404, body: { error: { code: 'UNKNOWN_JOB' } } });
    expect(await api('GET', '/kernels/nope/history')).toMatchObject({ status: 404, body: { error: { code: 'UNKNOWN_KERNEL' } } });
  });

  it('runs a checkpoint and a restore as jobs that report the bytes written and read', async () => {
    const kernel = await sandbox.kernel();
    await api('POST', '/kernels', { connectionFile: kernel.connectionFile, id: 'big' });
    await runCell(kernel.client, 'import numpy as np\nbig = np.random.default_rng().random(4_000_000)'); // 32 MB, unseeded: saved, not recomputed
    const started = await api<{ job: string }>('POST', '/kernels/big/checkpoint?async=1', {});
    expect(started.status).toBe(202);
    const seen: JobView[] = [];
    let view: JobView;
    do {
      view = (await api<JobView>('GET', `/jobs/${started.body.job}`)).body;
      seen.push(view);
      await sleep(20);
    } while (view.state === 'running');
    expect(view).toMatchObject({ state: 'done', operation: 'checkpoint', error: null });
    const summary = view.result as CheckpointSummary;
    expect(summary.totalBytes).toBeGreaterThanOrEqual(32_000_000);
    expect(view.bytesDone).toBe(view.bytesTotal);
    expect(view.bytesDone).toBeGreaterThanOrEqual(32_000_000);
    expect(seen.some((v) => v.state === 'running')).toBe(true);

    const restore = await api<{ job: string }>('POST', '/stores/big/restore?async=1', { id: 'big-2' });
    expect(restore.status).toBe(202);
    const restored = await finished(restore.body.job);
    expect(restored).toMatchObject({ state: 'done', operation: 'restore', result: { ok: true, lost: [], kernel: { id: 'big-2' } } });
    expect(restored.bytesDone).toBeGreaterThanOrEqual(32_000_000);
    process.kill((restored.result as { kernel: { pid: number } }).kernel.pid, 'SIGKILL');

    // A job that fails keeps the typed error.
    const unknownStore = await api('POST', '/stores/none/restore?async=1', {});
    expect(unknownStore).toMatchObject({ status: 404, body: { error: { code: 'UNKNOWN_STORE' } } });
  });
});
