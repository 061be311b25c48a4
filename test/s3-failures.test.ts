// Object-store failures on a real SeaweedFS: a bucket over its enforced quota refuses writes; a
// store that stalls (behind a proxy that stops passing bytes). Each checkpoint fails with a typed
// error saying what to do, the source kernel keeps its state, and the previous checkpoint stays the
// latest and restores, verified.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { checkpoint, restore, type CheckpointBody } from '@nbferry/migrate';
import { Recorder } from '@nbferry/recorder';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { S3Store } from '@nbferry/store-s3';
import { runCell, useKernelSandbox, valueOf } from './support/kernel-sandbox.js';
import { startSeaweed, type Seaweed } from './support/seaweed.js';
import { startStallProxy } from './support/stall-proxy.js';

let weed: Seaweed;

beforeAll(async () => {
  weed = await startSeaweed();
}, 120_000);
afterAll(async () => {
  await weed?.stop();
});

const sandbox = useKernelSandbox('nbf-s3-fail-');

it('a bucket over its quota: STORE_FULL, the source untouched, the previous checkpoint intact and restorable', async () => {
  await weed.createBucket('quota-bucket');
  const store = await S3Store.fromUrl('s3://quota-bucket/nb', { client: weed.client() });
  const source = await sandbox.kernel();
  const recorder = await Recorder.attach(source.client);
  await runCell(source.client, 'import numpy as np\na = np.random.default_rng(2).random(400_000)'); // 3.2 MB
  const previous = await checkpoint(recorder, store);

  // SeaweedFS's quota: 1 MB for the bucket, enforced: the bucket, over it, turns read-only. The
  // usage enforce compares comes from the volume servers' heartbeats (a few seconds late), and the
  // S3 gateway learns of the flag from the filer: enforce again until a write is refused.
  await weed.shell(['s3.bucket.quota -name=quota-bucket -op=set -sizeMB=1']);
  const probe = weed.client();
  const deadline = Date.now() + 90_000;
  for (;;) {
    const shell = await weed.shell(['s3.bucket.quota.enforce -apply']);
    const refused = await probe.send(new PutObjectCommand({ Bucket: 'quota-bucket', Key: 'probe', Body: 'x' })).then(() => false, () => true);
    if (refused) break;
    if (Date.now() > deadline) throw new Error(`the quota was not enforced within 90 s:\n${shell}`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  probe.destroy();

  await runCell(source.client, 'b = np.random.default_rng().random(1_000_000)'); // unseeded: the checkpoint must write it
  const failure = (await checkpoint(recorder, store).catch((e: unknown) => e)) as Error & { code: string };
  expect(failure).toMatchObject({ code: 'STORE_FULL', name: 'StoreFullError' });
  expect(failure.message).toMatch(/free space or raise the quota/);
  expect(failure.message).toMatch(/previous one is intact/);

  // The source kernel kept everything; the store still names the previous checkpoint only.
  expect(await valueOf(source.client, 'bool(a.shape == (400_000,) and b.shape == (1_000_000,))')).toBe('True');
  expect(await store.latestId()).toBe(previous.checkpoint.manifest.id);
  expect(await store.list()).toEqual([previous.checkpoint.manifest.id]);
  const target = await sandbox.kernel();
  const report = await restore(await store.open<CheckpointBody>(), target.client);
  expect(report.verification.ok, JSON.stringify(report.verification.variables)).toBe(true);
  expect(await valueOf(target.client, 'float(a.sum()) == float(np.random.default_rng(2).random(400_000).sum())')).toBe('True');

  // Quota lifted: the next checkpoint goes through.
  await weed.shell(['s3.bucket.quota -name=quota-bucket -op=remove']);
  const again = await checkpoint(recorder, store);
  expect(await store.latestId()).toBe(again.checkpoint.manifest.id);
  store.close();
}, 300_000);

it('a store that stalls: retried within bounds, then STORE_UNAVAILABLE; the source untouched, the previous checkpoint intact', async () => {
  await weed.createBucket('stall-bucket');
  const proxy = await startStallProxy({ host: '127.0.0.1', port: Number(new URL(weed.endpoint).port) });
  // The client nbferry builds from the configuration chain, with a short request timeout.
  Object.assign(process.env, { ...weed.env, AWS_ENDPOINT_URL: proxy.endpoint });
  const store = await S3Store.fromUrl('s3://stall-bucket/nb', { requestTimeoutMs: 1500 });
  expect(store.client).toBeInstanceOf(S3Client);
  try {
    const source = await sandbox.kernel();
    const recorder = await Recorder.attach(source.client);
    await runCell(source.client, 'import numpy as np\na = np.random.default_rng(4).random(300_000)');
    const previous = await checkpoint(recorder, store);
    await runCell(source.client, 'b = np.random.default_rng().random(300_000)'); // unseeded: the checkpoint must write it
    proxy.stall();
    const t0 = performance.now();
    const failure = (await checkpoint(recorder, store).catch((e: unknown) => e)) as Error & { code: string };
    const ms = performance.now() - t0;
    expect(failure).toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect(failure.message).toMatch(/TimeoutError/);
    expect(failure.message).toMatch(/previous one is intact/);
    expect(ms).toBeLessThan(60_000); // the SDK's 3 attempts of 1.5 s and backoff, not forever
    proxy.resume();
    expect(await valueOf(source.client, 'bool(a.shape == b.shape == (300_000,))')).toBe('True');
    expect(await store.latestId()).toBe(previous.checkpoint.manifest.id);
    expect(await store.list()).toEqual([previous.checkpoint.manifest.id]);
    const target = await sandbox.kernel();
    const report = await restore(await store.open<CheckpointBody>(), target.client);
    expect(report.verification.ok, JSON.stringify(report.verification.variables)).toBe(true);
  } finally {
    store.close();
    await proxy.close();
  }
}, 300_000);
