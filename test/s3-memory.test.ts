// Bounded memory through an object store: a large state goes kernel -> coordinator -> SeaweedFS in
// 8 MiB chunks, at most `concurrency` in flight, and back the same way; the coordinator's RSS must
// stay far below the state's size (were a whole blob held, it would grow by the blob).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpoint, restore, type CheckpointBody } from '@nbferry/migrate';
import { Recorder } from '@nbferry/recorder';
import { S3Store } from '@nbferry/store-s3';
import { useKernelSandbox, valueOf } from './support/kernel-sandbox.js';
import { startSeaweed, type Seaweed } from './support/seaweed.js';

const MiB = 1024 * 1024;
/** The state's size: 2 GiB by default (NBFERRY_S3_MEMORY_MIB to change it). */
const STATE_MIB = Number(process.env.NBFERRY_S3_MEMORY_MIB ?? 2048);
/** What the coordinator may grow by: 2 × concurrency (4) × 8 MiB of chunk bytes, plus SDK, HTTP and GC slack. */
const BOUND_MIB = 256;

let weed: Seaweed;
beforeAll(async () => {
  weed = await startSeaweed();
  await weed.createBucket('nbferry-memory');
}, 120_000);
afterAll(async () => {
  await weed?.stop();
});

/** Samples this process's RSS every 20 ms while `work` runs; returns its result and the peak. */
async function peakRss<T>(work: () => Promise<T>): Promise<{ result: T; peak: number }> {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 20);
  try {
    const result = await work();
    return { result, peak: Math.max(peak, process.memoryUsage.rss()) };
  } finally {
    clearInterval(timer);
  }
}

describe('S3 store memory bound', () => {
  const sandbox = useKernelSandbox('nbf-s3mem-');

  it(`checkpoints and restores a ${STATE_MIB} MiB state with the coordinator's RSS growing less than ${BOUND_MIB} MiB`, async () => {
    const store = await S3Store.fromUrl('s3://nbferry-memory/big', { client: weed.client() });
    const source = await sandbox.kernel();
    const recorder = await Recorder.attach(source.client);
    // Random bytes (nothing deduplicates), defined outside cells: only the blob can bring it back.
    await source.client.execute(`import numpy as np\nbig = np.random.default_rng(11).integers(0, 2**63, size=${(STATE_MIB * MiB) / 8}, dtype=np.int64)\ncheck = int(big[::4096].sum())`, { silent: true });
    const expected = await valueOf(source.client, 'check');
    const before = process.memoryUsage.rss();
    const saved = await peakRss(() => checkpoint(recorder, store, { refuseLoss: false }));
    const blob = saved.result.checkpoint.manifest.blobs.find((b) => b.variables.includes('big'))!;
    expect(blob.bytes).toBeGreaterThan(STATE_MIB * MiB);
    const saveGrowth = (saved.peak - before) / MiB;
    console.log(`checkpoint of ${STATE_MIB} MiB: coordinator RSS ${Math.round(before / MiB)} MiB before, peak ${Math.round(saved.peak / MiB)} MiB (+${Math.round(saveGrowth)} MiB)`);
    expect(saveGrowth).toBeLessThan(BOUND_MIB);
    await source.dispose(); // free the source's memory before the target loads a copy

    const target = await sandbox.kernel();
    const opened = await store.open<CheckpointBody>();
    const beforeRestore = process.memoryUsage.rss();
    const restored = await peakRss(() => restore(opened, target.client));
    const restoreGrowth = (restored.peak - beforeRestore) / MiB;
    console.log(`restore of ${STATE_MIB} MiB: coordinator RSS ${Math.round(beforeRestore / MiB)} MiB before, peak ${Math.round(restored.peak / MiB)} MiB (+${Math.round(restoreGrowth)} MiB)`);
    expect(restored.result.verification.variables.find((v) => v.name === 'big')?.outcome).toBe('restored');
    expect(await valueOf(target.client, 'int(big[::4096].sum())')).toBe(expected);
    expect(restoreGrowth).toBeLessThan(BOUND_MIB);
  }, 900_000);
});
