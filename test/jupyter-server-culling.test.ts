/**
 * The culling hook against a real server that culls idle kernels (timeout 10 s, checked every
 * second): the guard checkpoints the notebook's kernel before the server culls it, and
 * restoreOnReturn brings the state back when the user reopens the notebook.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { CullGuard, connectServerKernel, restoreOnReturn, routeServicesLogs, type GuardCheckpoint } from '@nbferry/jupyter-server';
import { Recorder } from '@nbferry/recorder';
import { Frontend, startJupyterServer, waitKernelGone, type JupyterServer } from './support/jupyter-server.js';

const CULL_IDLE_TIMEOUT_SEC = 10;
let server: JupyterServer;
let scratch: string;
let unrouteLogs: () => void;

beforeAll(async () => {
  unrouteLogs = routeServicesLogs();
  scratch = await mkdtemp(join(tmpdir(), 'nbf-cull-test-'));
  server = await startJupyterServer({
    tuned: true,
    args: [`--MappingKernelManager.cull_idle_timeout=${CULL_IDLE_TIMEOUT_SEC}`, '--MappingKernelManager.cull_interval=1'],
  });
});

afterAll(async () => {
  await server?.stop();
  await rm(scratch, { recursive: true, force: true });
  unrouteLogs?.();
});

test('checkpoint before the server culls an idle kernel, restore when the user returns', async () => {
  const path = 'idle.ipynb';
  const session = await server.api.createSession({ path, name: path, type: 'notebook', kernel: { name: 'python3' } });
  const kernelId = session.kernel!.id;
  // The platform records the kernel from its start; then the user works and walks away.
  const recording = await connectServerKernel(server, kernelId);
  await Recorder.attach(recording.client);
  await recording.detach();
  const frontend = await Frontend.open(server, kernelId);
  await frontend.run('import os\nimport numpy as np');
  await frontend.run('secret = np.frombuffer(os.urandom(4096), dtype=np.uint8).copy()');
  await frontend.run('answer = 41 + 1\nfingerprint = int(secret.astype(np.int64).sum())');
  const expected = await frontend.run('print(answer, fingerprint)');
  frontend.close();

  const checkpoints: GuardCheckpoint[] = [];
  const errors: Error[] = [];
  const guard = new CullGuard({
    server: server.api,
    storeRoot: join(scratch, 'culled'),
    cullIdleTimeoutSec: CULL_IDLE_TIMEOUT_SEC,
    pollMs: 250,
    marginMs: 6000,
    onCheckpoint: (event) => checkpoints.push(event),
    onError: (error) => errors.push(error),
  });
  guard.start();
  try {
    // The server culls the kernel as it would have; the guard checkpointed it first.
    expect(await waitKernelGone(server.api, kernelId, 45_000)).toBe(true);
  } finally {
    await guard.stop();
  }
  expect(errors).toEqual([]);
  expect(checkpoints.length).toBeGreaterThanOrEqual(1);
  expect(checkpoints[0]).toMatchObject({ kernelId, sessionPath: path });

  // The user comes back: reopening the notebook gets a kernel with the state it had.
  const back = await restoreOnReturn({ server: server.api, checkpoint: checkpoints.at(-1)!.storeDir, sessionPath: path });
  expect(back.report.verification.ok).toBe(true);
  expect(back.report.verification.variables.filter((v) => v.outcome === 'recomputed-different')).toEqual([]);
  expect(back.session?.path).toBe(path);
  const reopened = await Frontend.openSession(server, path);
  try {
    expect(await reopened.run('print(answer, fingerprint)')).toBe(expected);
  } finally {
    reopened.close();
    await server.api.deleteSession(back.session!.id);
  }
});
