// After an undo (which deletes the names bound since), the next checkpoint must not bring those
// names back when it is restored elsewhere (found by the JupyterLab browser test).
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { attachKernel } from '@nbferry/kernel';
import { startService, type CheckpointSummary, type RestoreOutcome, type RunningService } from '@nbferry/service';
import { runCell, useKernelSandbox, valueOf } from './support/kernel-sandbox.js';
import { testPython } from './support/python.js';
import { serviceRequest } from './support/service-api.js';

const TOKEN = 'undo-then-restore-token-0123456789';

describe('undo, a cell, a checkpoint, then a restore elsewhere', () => {
  const sandbox = useKernelSandbox('nbferry-undo-restore-');
  let running: RunningService;
  beforeEach(async () => {
    running = await startService({ token: TOKEN, port: 0, storeRoot: join(sandbox.dir(), 'stores'), python: testPython(), defaultCwd: sandbox.dir(), logger: false });
  });
  afterEach(async () => {
    await running.close();
  });
  // Every request but a GET carries a JSON body ({} when none is given).
  const api = <T>(method: string, path: string, body?: unknown) => serviceRequest<T>(running.url, TOKEN, method, path, method === 'GET' ? undefined : (body ?? {}));

  async function committed(id: string, count: number): Promise<void> {
    const end = Date.now() + 30_000;
    while ((await api<{ autoCheckpoint: { committed: number } }>('GET', `/kernels/${id}`)).body.autoCheckpoint.committed < count) {
      if (Date.now() > end) throw new Error(`auto-checkpoint ${count} of ${id} not committed`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  it('does not bring back a name the undo deleted (auto-checkpoints)', async () => {
    const kernel = await sandbox.kernel();
    await api('POST', '/kernels', { connectionFile: kernel.connectionFile, id: 'a', autoCheckpointIdleMs: 200 });
    await runCell(kernel.client, 'x = 1');
    await committed('a', 1);
    await runCell(kernel.client, 'x = x + 41\nlabel = "after"');
    await committed('a', 2);
    expect((await api<{ deleted: string[] }>('POST', '/kernels/a/undo')).body.deleted).toEqual(['label']);
    expect(await valueOf(kernel.client, "(x, 'label' in globals())")).toBe('(1, False)');
    const before = (await api<{ autoCheckpoint: { committed: number } }>('GET', '/kernels/a')).body.autoCheckpoint.committed;
    await runCell(kernel.client, 'print(x)');
    await committed('a', before + 1);
    const fresh = await sandbox.kernel();
    await api('POST', '/kernels', { connectionFile: fresh.connectionFile, id: 'a2', store: 'a' });
    const latest = (await api<{ id: string; cell: { firstLine: string } }[]>('GET', '/kernels/a2/history')).body[0]!;
    expect(latest.cell.firstLine).toBe('print(x)');
    const checked = await api<{ ok: boolean }>('POST', '/kernels/a2/checkout', { checkpointId: latest.id });
    expect(checked.body.ok).toBe(true);
    expect(await valueOf(fresh.client, "(x, 'label' in globals())")).toBe('(1, False)');
  });

  it('does not bring back a name the undo deleted', async () => {
    const kernel = await sandbox.kernel();
    await api('POST', '/kernels', { connectionFile: kernel.connectionFile, id: 'k' });
    await runCell(kernel.client, 'x = 1');
    await api<CheckpointSummary>('POST', '/kernels/k/checkpoint');
    await runCell(kernel.client, 'x = x + 41\nlabel = "after"');
    await api<CheckpointSummary>('POST', '/kernels/k/checkpoint');
    expect((await api<{ checkpointId: string; deleted: string[] }>('POST', '/kernels/k/undo')).body.deleted).toEqual(['label']);
    // No cell since the second checkpoint: back to the first, label deleted.
    expect(await valueOf(kernel.client, "(x, 'label' in globals())")).toBe('(1, False)');
    await runCell(kernel.client, 'print(x)');
    await api<CheckpointSummary>('POST', '/kernels/k/checkpoint');
    const restored = await api<RestoreOutcome>('POST', '/stores/k/restore', { id: 'k2' });
    expect(restored.status).toBe(200);
    const target = await attachKernel(restored.body.connectionFile);
    try {
      expect(await valueOf(target.client, "(x, 'label' in globals())")).toBe('(1, False)');
    } finally {
      await target.detach();
      process.kill(restored.body.kernel.pid, 'SIGKILL');
    }
    // As the JupyterLab panel restores a restarted kernel: a fresh kernel on the same store, checked out.
    const fresh = await sandbox.kernel();
    await api('POST', '/kernels', { connectionFile: fresh.connectionFile, id: 'k3', store: 'k' });
    const latest = (await api<{ id: string }[]>('GET', '/kernels/k3/history')).body[0]!.id;
    const checked = await api<{ ok: boolean; checkpointId: string }>('POST', '/kernels/k3/checkout', { checkpointId: latest });
    expect(checked.body).toMatchObject({ ok: true, checkpointId: latest });
    expect(await valueOf(fresh.client, "(x, 'label' in globals())")).toBe('(1, False)');
  });
});
