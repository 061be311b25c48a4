// Migration between two Jupyter Servers through an object store: the kernels are reached only by
// their servers' websockets, the bytes go kernel (server A) -> coordinator -> SeaweedFS ->
// coordinator -> kernel (server B), in chunks under the websocket's 10 MiB message limit.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startServerKernel, type ServerKernel } from '@nbferry/jupyter-server';
import { checkpoint, restore, type CheckpointBody } from '@nbferry/migrate';
import { Recorder } from '@nbferry/recorder';
import { S3Store } from '@nbferry/store-s3';
import { startJupyterServer, type JupyterServer } from './support/jupyter-server.js';
import { startSeaweed, type Seaweed } from './support/seaweed.js';

let A: JupyterServer;
let B: JupyterServer;
let weed: Seaweed;

beforeAll(async () => {
  [A, B, weed] = await Promise.all([startJupyterServer(), startJupyterServer(), startSeaweed()]);
  await weed.createBucket('nbferry-servers');
}, 180_000);
afterAll(async () => {
  await Promise.all([A?.stop(), B?.stop(), weed?.stop()]);
});

test('a kernel on server A checkpoints into s3:// and restores into a kernel on server B, verified', async () => {
  const source = await startServerKernel(A);
  let target: ServerKernel | undefined;
  try {
    const recorder = await Recorder.attach(source.client);
    for (const code of ['import numpy as np', 'big = np.random.default_rng(4).random(6_000_000)', 'labels = {i: f"row{i}" for i in range(500)}']) {
      expect((await source.client.execute(code)).status).toBe('ok');
    }
    const store = await S3Store.fromUrl('s3://nbferry-servers/session', { client: weed.client() });
    const saved = await checkpoint(recorder, store);
    const bigBlob = saved.checkpoint.manifest.blobs.find((b) => b.variables.includes('big'))!;
    expect(bigBlob.bytes).toBeGreaterThan(40e6); // several chunks, more than one websocket message
    target = await startServerKernel(B);
    const report = await restore(await store.open<CheckpointBody>(), target.client);
    expect(report.verification.ok, JSON.stringify(report.verification.variables)).toBe(true);
    expect(report.verification.variables.find((v) => v.name === 'big')?.outcome).toBe('restored');
    const check = await target.client.execute('print(float(big.sum()) == float(np.random.default_rng(4).random(6_000_000).sum()), len(labels))');
    expect(check.stdout).toBe('True 500\n');
  } finally {
    await target?.shutdown();
    await source.shutdown();
  }
}, 240_000);
