// Object-store failures on a real SeaweedFS: a bucket over its enforced quota refuses writes. The
// checkpoint fails with a typed error saying what to do, the source kernel keeps its state, and the
// previous checkpoint stays the latest and restores, verified.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { checkpoint, restore, type CheckpointBody } from '@nbferry/migrate';
import { Recorder } from '@nbferry/recorder';
import { S3Store } from '@nbferry/store-s3';
import { runCell, useKernelSandbox, valueOf } from './support/kernel-sandbox.js';
import { startSeaweed, type Seaweed } from './support/seaweed.js';

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

  // SeaweedFS's quota: 1 MB for the bucket, enforced (the bucket, already over it, turns read-only).
  const shell = await weed.shell(['s3.bucket.quota -name=quota-bucket -op=set -sizeMB=1', 's3.bucket.quota.enforce -apply']);
  expect(shell).toMatch(/quota-bucket/);

  await runCell(source.client, 'b = np.random.default_rng(3).random(1_000_000)');
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
