// Migration between two Jupyter Servers through an object store: the kernels are reached only by
// their servers' websockets, the bytes go kernel (server A) -> coordinator -> SeaweedFS ->
// coordinator -> kernel (server B), in chunks under the websocket's 10 MiB message limit.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { CullGuard, connectServerKernel, migrateSession, restoreOnReturn, startServerKernel, type ServerKernel } from '@nbferry/jupyter-server';
import { checkpoint, restore, type CheckpointBody } from '@nbferry/migrate';
import { Recorder } from '@nbferry/recorder';
import { S3Store } from '@nbferry/store-s3';
import { Frontend, startJupyterServer, type JupyterServer } from './support/jupyter-server.js';
import { startSeaweed, type Seaweed } from './support/seaweed.js';

let A: JupyterServer;
let B: JupyterServer;
let weed: Seaweed;

beforeAll(async () => {
  [A, B, weed] = await Promise.all([startJupyterServer(), startJupyterServer(), startSeaweed()]);
  await weed.createBucket('nbferry-servers');
  // The coordinator (this process) reaches the store through the standard AWS chain, as nbferry would.
  Object.assign(process.env, weed.env);
}, 180_000);
afterAll(async () => {
  await Promise.all([A?.stop(), B?.stop(), weed?.stop()]);
});

test('a kernel on server A checkpoints into s3:// and restores into a kernel on server B, verified', async () => {
  const source = await startServerKernel(A);
  let target: ServerKernel | undefined;
  try {
    const recorder = await Recorder.attach(source.client);
    // Unseeded: a rerun would draw other numbers, so `big` must cross the store.
    for (const code of ['import numpy as np', 'big = np.random.default_rng().random(6_000_000)', 'labels = {i: f"row{i}" for i in range(500)}']) {
      expect((await source.client.execute(code)).status).toBe('ok');
    }
    const sourceSum = (await source.client.execute('print(float(big.sum()))')).stdout;
    const store = await S3Store.fromUrl('s3://nbferry-servers/session', { client: weed.client() });
    const saved = await checkpoint(recorder, store);
    const bigBlob = saved.checkpoint.manifest.blobs.find((b) => b.variables.includes('big'))!;
    expect(bigBlob.bytes).toBeGreaterThan(40e6); // several chunks, more than one websocket message
    target = await startServerKernel(B);
    const report = await restore(await store.open<CheckpointBody>(), target.client);
    expect(report.verification.ok, JSON.stringify(report.verification.variables)).toBe(true);
    expect(report.verification.variables.find((v) => v.name === 'big')?.outcome).toBe('restored');
    const check = await target.client.execute('print(float(big.sum()))\nprint(len(labels))');
    expect(check.stdout).toBe(`${sourceSum}500\n`);
  } finally {
    await target?.shutdown();
    await source.shutdown();
  }
}, 240_000);

/** A notebook session on `server` whose kernel holds `big` (defined unrecorded: only a blob can move it) and recorded cells. */
async function sessionWithState(server: JupyterServer, path: string): Promise<{ sessionId: string; kernelId: string }> {
  await server.api.putContents({ path, type: 'notebook', format: 'json', content: { cells: [], metadata: {}, nbformat: 4, nbformat_minor: 5 } });
  const session = await server.api.createSession({ path, name: path, type: 'notebook', kernel: { name: 'python3' } });
  const kernel = await connectServerKernel(server, session.kernel!.id);
  try {
    await kernel.client.execute('import numpy as np\nbig = np.random.default_rng(9).random(3_000_000)', { silent: true });
    await Recorder.attach(kernel.client);
  } finally {
    await kernel.detach();
  }
  const frontend = await Frontend.open(server, session.kernel!.id);
  try {
    await frontend.run('total = float(big.sum())');
    await frontend.run('names = [f"n{i}" for i in range(100)]');
  } finally {
    frontend.close();
  }
  return { sessionId: session.id, kernelId: session.kernel!.id };
}

test('session migration A → B through s3:// (no shared directory): verified, A shut down, the checkpoint stays in the bucket', async () => {
  expect(A.rootDir).not.toBe(B.rootDir);
  const path = 'moved.ipynb';
  const { sessionId, kernelId } = await sessionWithState(A, path);
  const store = await S3Store.fromUrl('s3://nbferry-servers/moves', { client: weed.client() });
  const report = await migrateSession({ from: A, to: B, path, store, timeoutMs: 60_000 });
  expect(report.migration.verification.ok, JSON.stringify(report.migration.verification.variables)).toBe(true);
  expect(report.migration.verification.variables.find((v) => v.name === 'big')?.outcome).toBe('restored');
  expect(report.checkpoint?.store).toBe('s3://nbferry-servers/moves');
  expect(await store.list()).toEqual([report.checkpoint!.id]);
  expect(report.migration.bytesMoved).toBeGreaterThanOrEqual(24e6); // big's 24 MB went into the bucket
  expect(report.sourceShutDown).toBe(true);
  expect(await A.api.getSession(sessionId)).toBeUndefined();
  expect(await A.api.getKernel(kernelId)).toBeUndefined();
  const reopened = await Frontend.openSession(B, path);
  try {
    expect(await reopened.run('print(float(big.sum()) == total, len(names))')).toBe('True 100\n');
  } finally {
    reopened.close();
  }
}, 240_000);

test('CullGuard checkpoints into s3:// before the cull; restoreOnReturn brings the state back on another server', async () => {
  const path = 'culled.ipynb';
  const { kernelId } = await sessionWithState(A, path);
  // Every idle kernel is "about to be culled": idle timeout 3 s, margin 2.9 s.
  const guard = new CullGuard({ server: A, storeRoot: 's3://nbferry-servers/guard/', cullIdleTimeoutSec: 3, marginMs: 2900, cullConnected: true });
  await new Promise((resolve) => setTimeout(resolve, 300));
  const events = await guard.checkOnce();
  const event = events.find((e) => e.kernelId === kernelId)!;
  expect(event.storeDir).toBe(`s3://nbferry-servers/guard/session-${encodeURIComponent(path)}`);
  expect(event.checkpointDir.startsWith(`${event.storeDir}/checkpoints/`)).toBe(true);
  // The user comes back to the notebook on server B, which never saw A's disk.
  const back = await restoreOnReturn({ server: B, checkpoint: event.storeDir, sessionPath: path, timeoutMs: 60_000 });
  expect(back.report.verification.ok, JSON.stringify(back.report.verification.variables)).toBe(true);
  expect(back.report.verification.variables.find((v) => v.name === 'big')?.outcome).toBe('restored');
  expect(back.session?.path).toBe(path);
  const frontend = await Frontend.openSession(B, path);
  try {
    expect(await frontend.run('print(float(big.sum()) == total, len(names))')).toBe('True 100\n');
  } finally {
    frontend.close();
  }
}, 240_000);
