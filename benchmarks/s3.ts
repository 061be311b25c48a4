/**
 * npm run bench:s3 — checkpoints in an object store (a real SeaweedFS on loopback), in one run:
 *
 * 1. a plain SDK upload (lib-storage, 8 MiB parts, 4 at once) and download of N MiB of random bytes:
 *    what the object store and the SDK do on this machine without nbferry;
 * 2. checkpoint and restore of a kernel holding the same amount of random bytes through the S3
 *    store (kernel -> coordinator -> bucket in 8 MiB chunks), and through a local store;
 * 3. a second checkpoint after a small change: the bytes it uploads, of the total;
 * 4. the coordinator's peak RSS during a checkpoint of a larger state (--rss-mib, default 2048).
 *
 *   npm run bench:s3                       # 1024 MiB, RSS at 2048 MiB
 *   npm run bench:s3 -- --mib 256 --rss-mib 0
 *
 * Writes benchmarks/results/s3.json and s3.md.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { launchKernel, type Kernel } from '@nbferry/kernel';
import { checkpoint, restore, type CheckpointBody } from '@nbferry/migrate';
import { Recorder } from '@nbferry/recorder';
import { LocalStore, type CheckpointStore } from '@nbferry/store';
import { S3Store } from '@nbferry/store-s3';
import { testPython } from '../test/support/python.js';
import { startSeaweed } from '../test/support/seaweed.js';

const { values: args } = parseArgs({ options: { mib: { type: 'string', default: '1024' }, 'rss-mib': { type: 'string', default: '2048' } } });
const MiB = 1024 * 1024;
const sizeMib = Number(args.mib);
const rssMib = Number(args['rss-mib']);
const python = testPython();
const resultsDir = new URL('./results/', import.meta.url);

const mibPerSec = (bytes: number, ms: number) => bytes / MiB / (ms / 1000);
const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

async function timed<T>(work: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const t0 = performance.now();
  const result = await work();
  return { result, ms: performance.now() - t0 };
}

async function peakRss<T>(work: () => Promise<T>): Promise<{ result: T; peak: number }> {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
  try {
    const result = await work();
    return { result, peak: Math.max(peak, process.memoryUsage.rss()) };
  } finally {
    clearInterval(timer);
  }
}

/** A recorded kernel holding `mib` MiB of random int64s (defined silently: only its blob can restore it). */
async function sourceWith(mib: number, cwd: string): Promise<{ kernel: Kernel; recorder: Recorder }> {
  const kernel = await launchKernel({ python, cwd });
  const recorder = await Recorder.attach(kernel.client);
  await kernel.client.execute(`import numpy as np\nbig = np.random.default_rng(1).integers(0, 2**63, size=${(mib * MiB) / 8}, dtype=np.int64)\nsmall = 1`, { silent: true });
  return { kernel, recorder };
}

async function checkpointAndRestore(store: CheckpointStore, mib: number, cwd: string) {
  const source = await sourceWith(mib, cwd);
  try {
    const saved = await timed(() => checkpoint(source.recorder, store, { refuseLoss: false }));
    const bytes = saved.result.checkpoint.manifest.stats!.totalBytes;
    await source.kernel.client.execute('small = 2', { silent: true });
    const second = await checkpoint(source.recorder, store, { refuseLoss: false });
    const target = await launchKernel({ python, cwd });
    try {
      const opened = await (store as CheckpointStore).open<CheckpointBody>(saved.result.checkpoint.manifest.id);
      const restored = await timed(() => restore(opened, target.client));
      if (restored.result.verification.variables.find((v) => v.name === 'big')?.outcome !== 'restored') throw new Error('big was not restored');
      return {
        bytes,
        checkpointMs: saved.ms,
        saveMs: saved.result.timings.saveMs,
        restoreMs: restored.ms,
        secondNewBytes: second.checkpoint.manifest.stats!.newBytes,
        secondTotalBytes: second.checkpoint.manifest.stats!.totalBytes,
      };
    } finally {
      await target.dispose();
    }
  } finally {
    await source.kernel.dispose();
  }
}

/** A plain SDK upload (lib-storage, 8 MiB parts, 4 at once) and one streamed GET of `bytes` random bytes. */
async function plainSdk(client: S3Client, bytes: number): Promise<{ put: { ms: number }; get: { ms: number } }> {
  const raw = randomBytes(bytes);
  const put = await timed(() => new Upload({ client, params: { Bucket: 'bench', Key: 'raw/blob', Body: raw }, partSize: 8 * MiB, queueSize: 4 }).done());
  const get = await timed(async () => {
    const reply = await client.send(new GetObjectCommand({ Bucket: 'bench', Key: 'raw/blob' }));
    let n = 0;
    for await (const piece of reply.Body as AsyncIterable<Uint8Array>) n += piece.byteLength;
    if (n !== bytes) throw new Error(`read ${n} bytes, wrote ${bytes}`);
  });
  return { put, get };
}

const weed = await startSeaweed();
const scratch = await mkdtemp(join(tmpdir(), 'nbferry-bench-s3-'));
try {
  await weed.createBucket('bench');
  const client = weed.client();

  // 1. Plain SDK, same amount of bytes, same part size and parallelism as the store's chunks.
  const rawBytes = sizeMib * MiB;
  const { put, get } = await plainSdk(client, rawBytes); // its buffer is garbage once it returns

  // 2, 3. Through the S3 store and the local store.
  const s3 = await checkpointAndRestore(await S3Store.fromUrl('s3://bench/nb', { client }), sizeMib, scratch);
  const local = await checkpointAndRestore(new LocalStore(join(scratch, 'store')), sizeMib, scratch);

  // 4. Peak RSS of the coordinator during a larger checkpoint.
  let rss: { mib: number; beforeMib: number; peakMib: number } | undefined;
  if (rssMib > 0) {
    const source = await sourceWith(rssMib, scratch);
    try {
      const store = await S3Store.fromUrl('s3://bench/rss', { client });
      (globalThis as { gc?: () => void }).gc?.(); // with --expose-gc: start from what is live
      const before = process.memoryUsage.rss();
      const { peak } = await peakRss(() => checkpoint(source.recorder, store, { refuseLoss: false }));
      rss = { mib: rssMib, beforeMib: Math.round(before / MiB), peakMib: Math.round(peak / MiB) };
    } finally {
      await source.kernel.dispose();
    }
  }

  const row = (r: typeof s3) => ({
    checkpointMiBps: round(mibPerSec(r.bytes, r.checkpointMs)),
    saveMiBps: round(mibPerSec(r.bytes, r.saveMs)),
    restoreMiBps: round(mibPerSec(r.bytes, r.restoreMs)),
    checkpointMs: Math.round(r.checkpointMs),
    restoreMs: Math.round(r.restoreMs),
    secondCheckpointUploadedBytes: r.secondNewBytes,
    secondCheckpointUploadedPct: round((100 * r.secondNewBytes) / r.secondTotalBytes, 4),
  });
  const result = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, memGiB: round(totalmem() / 2 ** 30), node: process.version, loadAvg1m: round(loadavg()[0]!) },
    sizeMib,
    plainSdk: { putMiBps: round(mibPerSec(rawBytes, put.ms)), getMiBps: round(mibPerSec(rawBytes, get.ms)), putMs: Math.round(put.ms), getMs: Math.round(get.ms) },
    s3Store: row(s3),
    localStore: row(local),
    ratios: { checkpointVsPlainPut: round(mibPerSec(s3.bytes, s3.checkpointMs) / mibPerSec(rawBytes, put.ms), 2), restoreVsPlainGet: round(mibPerSec(s3.bytes, s3.restoreMs) / mibPerSec(rawBytes, get.ms), 2) },
    coordinatorRss: rss ?? null,
  };
  const md = [
    `# bench:s3 (${result.date})`,
    '',
    `${sizeMib} MiB of random bytes; SeaweedFS ${'`weed server -s3`'} on loopback; ${result.machine.cpus} CPUs, ${result.machine.memGiB} GiB, Node ${result.machine.node}, load average ${result.machine.loadAvg1m} (1 min, at the end).`,
    '',
    '| path | write MiB/s | read MiB/s |',
    '| --- | --- | --- |',
    `| plain SDK (lib-storage Upload 8 MiB × 4; one GET) | ${result.plainSdk.putMiBps} | ${result.plainSdk.getMiBps} |`,
    `| S3 store: checkpoint (whole, measure+plan+save+commit) / restore (whole, load+verify) | ${result.s3Store.checkpointMiBps} (save alone ${result.s3Store.saveMiBps}) | ${result.s3Store.restoreMiBps} |`,
    `| local store: checkpoint / restore | ${result.localStore.checkpointMiBps} (save alone ${result.localStore.saveMiBps}) | ${result.localStore.restoreMiBps} |`,
    '',
    `S3 store vs plain SDK: checkpoint ${result.ratios.checkpointVsPlainPut}×, restore ${result.ratios.restoreVsPlainGet}× (target ≥ 0.7).`,
    `Second checkpoint after a small change (one small variable) uploads ${result.s3Store.secondCheckpointUploadedBytes} bytes, ${result.s3Store.secondCheckpointUploadedPct}% of its ${sizeMib} MiB (target ≤ 2%).`,
    rss ? `Coordinator RSS during a ${rss.mib} MiB checkpoint: ${rss.beforeMib} MiB before, ${rss.peakMib} MiB peak (+${rss.peakMib - rss.beforeMib} MiB).` : 'Coordinator RSS: not measured (--rss-mib 0).',
    '',
  ].join('\n');
  process.stdout.write(`${md}\n`);
  await writeFile(new URL('s3.json', resultsDir), `${JSON.stringify(result, null, 2)}\n`);
  await writeFile(new URL('s3.md', resultsDir), md);
  client.destroy();
} finally {
  await weed.stop();
  await rm(scratch, { recursive: true, force: true });
}
