// Registrations follow Jupyter's kernels: a kernel Jupyter shuts down (the user, a culler) is
// unregistered from the nbferry service by the server extension (its store stays), while a kernel
// Jupyter restarts keeps its registration (re-registered on the new process). Real jupyter lab with
// the extension; no browser needed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectServerKernel } from '@nbferry/jupyter-server';
import { startLab, writeNotebook, type LabServer } from './support/lab-server.js';

interface Registered {
  id: string;
  store: string;
  pid: number;
}

describe('registrations of Jupyter kernels with the nbferry service', () => {
  let lab: LabServer;

  beforeAll(async () => {
    lab = await startLab();
    await writeNotebook(lab.root, 'a.ipynb', ['x = 1']);
    await writeNotebook(lab.root, 'b.ipynb', ['y = 2']);
    await writeNotebook(lab.root, 'early.ipynb', ['z = 3']);
  }, 180_000);

  afterAll(async () => {
    await lab?.stop();
  }, 60_000);

  async function openAndAttach(path: string): Promise<string> {
    const session = await lab.api<{ kernel: { id: string } }>('POST', '/api/sessions', { path, type: 'notebook', name: path, kernel: { name: 'nbferry' } });
    expect(session.status).toBe(201);
    const kernelId = session.body.kernel.id;
    await expect.poll(async () => (await lab.api('POST', `/nbferry/kernels/${kernelId}/attach`, {})).status, { timeout: 60_000, interval: 500 }).toBe(200);
    return kernelId;
  }

  const registeredIds = async () => (await lab.api<{ kernels: Registered[] }>('GET', '/nbferry/api/kernels')).body.kernels.map((k) => k.id).sort();

  it('unregisters a kernel Jupyter shuts down, and only that one', async () => {
    const a = await openAndAttach('a.ipynb');
    const b = await openAndAttach('b.ipynb');
    expect(await registeredIds()).toEqual([a, b].sort());
    const store = (await lab.api<Registered>('GET', `/nbferry/api/kernels/${a}`)).body.store;
    expect((await lab.api('POST', `/nbferry/api/kernels/${a}/checkpoint`, {})).status).toBe(200);

    expect((await lab.api('DELETE', `/api/kernels/${a}`)).status).toBe(204);
    await expect.poll(registeredIds, { timeout: 30_000, interval: 250 }).toEqual([b]);
    expect((await lab.api('GET', `/nbferry/api/kernels/${a}`)).status).toBe(404);
    // Its store (and history) outlives the registration.
    expect((await lab.api<{ stores: string[] }>('GET', '/nbferry/api/stores')).body.stores).toContain(store);
  }, 180_000);

  it('checkpoints, once attached, the cells a kernel ran before it was attached', async () => {
    const session = await lab.api<{ kernel: { id: string } }>('POST', '/api/sessions', { path: 'early.ipynb', type: 'notebook', name: 'early.ipynb', kernel: { name: 'nbferry' } });
    const kernelId = session.body.kernel.id;
    const early = await connectServerKernel({ baseUrl: `${lab.url}/`, token: lab.token }, kernelId, { timeoutMs: 60_000 });
    try {
      expect((await early.client.execute('z = 3', { timeoutMs: 60_000 })).status).toBe('ok');
    } finally {
      await early.detach();
    }
    expect((await lab.api('POST', `/nbferry/kernels/${kernelId}/attach`, {})).status).toBe(200);
    await expect
      .poll(async () => (await lab.api<{ protected: boolean }>('GET', `/nbferry/api/kernels/${kernelId}`)).body.protected, { timeout: 60_000, interval: 500 })
      .toBe(true);
    expect((await lab.api<{ changed: string[] }[]>('GET', `/nbferry/api/kernels/${kernelId}/history`)).body[0]!.changed).toContain('z');
    expect((await lab.api('DELETE', `/api/sessions/${(await lab.api<{ id: string; kernel: { id: string } }[]>('GET', '/api/sessions')).body.find((s) => s.kernel.id === kernelId)!.id}`)).status).toBe(204);
  }, 180_000);

  it('keeps the registration of a kernel Jupyter restarts (same id, new process)', async () => {
    // Only b.ipynb's kernel is left (the others were shut down, hence unregistered).
    await expect.poll(async () => (await registeredIds()).length, { timeout: 30_000, interval: 250 }).toBe(1);
    const b = (await registeredIds())[0]!;
    const before = (await lab.api<Registered>('GET', `/nbferry/api/kernels/${b}`)).body.pid;
    expect((await lab.api('POST', `/api/kernels/${b}/restart`)).status).toBe(200);
    // Longer than the extension waits after a shutdown event before unregistering.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const after = await lab.api<Registered>('GET', `/nbferry/api/kernels/${b}`);
    expect(after.status).toBe(200);
    expect(after.body.pid).not.toBe(before);
    expect(await registeredIds()).toEqual([b]);
  }, 120_000);

  it('registers a restarted kernel once when several requests about it arrive together (the panel polls while it attaches)', async () => {
    const b = (await registeredIds())[0]!;
    const before = (await lab.api<Registered & { registeredAt: string }>('GET', `/nbferry/api/kernels/${b}`)).body;
    expect((await lab.api('POST', `/api/kernels/${b}/restart`)).status).toBe(200);
    // Each finds the old process registered; one at a time, only the first replaces the registration.
    const state = () => lab.api<Registered & { registeredAt: string }>('GET', `/nbferry/api/kernels/${b}`);
    const [attach, ...states] = await Promise.all([lab.api('POST', `/nbferry/kernels/${b}/attach`, {}), state(), lab.api('GET', `/nbferry/api/kernels/${b}/history`), state(), state()]);
    expect([attach, ...states].map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    const registrations = new Set([states[0]!, states[2]!, states[3]!].map((r) => r.body.registeredAt));
    expect(registrations.size).toBe(1);
    expect(registrations.has(before.registeredAt)).toBe(false);
    const after = (await state()).body;
    expect(after.pid).not.toBe(before.pid);
    expect(after.registeredAt).toBe([...registrations][0]);
    expect(await registeredIds()).toEqual([b]);
  }, 120_000);
});
