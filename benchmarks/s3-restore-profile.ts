/**
 * Where an S3 restore's time goes (a profiling aid for bench:s3): N MiB through the S3 store,
 * restored once with the coordinator's time split into waiting for chunk GETs, staging into the
 * kernel, and the kernel's load; plus a plain GET of the same chunks for comparison.
 *
 *   npx tsx --conditions=source benchmarks/s3-restore-profile.ts --mib 256
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { launchKernel } from '@nbferry/kernel';
import { checkpoint, restore, type CheckpointBody } from '@nbferry/migrate';
import { Recorder } from '@nbferry/recorder';
import { chunkSpans } from '@nbferry/store';
import { S3Store } from '@nbferry/store-s3';
import { testPython } from '../test/support/python.js';
import { startSeaweed } from '../test/support/seaweed.js';

const { values: args } = parseArgs({ options: { mib: { type: 'string', default: '256' }, runs: { type: 'string', default: '2' } } });
const MiB = 1024 * 1024;
const mib = Number(args.mib);
const python = testPython();
const weed = await startSeaweed();
const scratch = await mkdtemp(join(tmpdir(), 'nbferry-s3-profile-'));
try {
  await weed.createBucket('prof');
  const client = weed.client();
  const store = await S3Store.fromUrl('s3://prof/nb', { client });
  const source = await launchKernel({ python, cwd: scratch });
  const recorder = await Recorder.attach(source.client);
  await source.client.execute(`import numpy as np\nbig = np.random.default_rng(1).integers(0, 2**63, size=${(mib * MiB) / 8}, dtype=np.int64)`, { silent: true });
  const saved = await checkpoint(recorder, store, { refuseLoss: false });
  await source.dispose();
  const blob = saved.checkpoint.manifest.blobs.find((b) => b.variables.includes('big'))!;
  const spans = chunkSpans(blob);
  for (let run = 0; run < Number(args.runs); run++) {
    // Plain GETs of the same chunks, 4 at once, bytes discarded.
    const t0 = performance.now();
    let next = 0;
    await Promise.all(Array.from({ length: 4 }, async () => {
      while (next < spans.length) {
        const span = spans[next++]!;
        const reply = await client.send(new GetObjectCommand({ Bucket: 'prof', Key: store.remote.keyOf(span.digest) }));
        for await (const _ of reply.Body as AsyncIterable<Uint8Array>);
      }
    }));
    const plainMs = performance.now() - t0;
    const target = await launchKernel({ python, cwd: scratch });
    const opened = await store.open<CheckpointBody>();
    const t1 = performance.now();
    const report = await restore(opened, target.client);
    const restoreMs = performance.now() - t1;
    const load = report.steps.filter((s) => s.label.startsWith('load')).reduce((a, s) => a + (s.ms ?? 0), 0);
    process.stdout.write(`run ${run}: plain GETs ${(mib / (plainMs / 1000)).toFixed(1)} MiB/s; restore ${(mib / (restoreMs / 1000)).toFixed(1)} MiB/s (${restoreMs.toFixed(0)} ms; replay ${report.timings.replayMs.toFixed(0)} ms, verify ${report.timings.verifyMs.toFixed(0)} ms, kernel load steps ${load.toFixed(0)} ms); ratio ${(plainMs / restoreMs).toFixed(2)}\n`);
    await target.dispose();
  }
  client.destroy();
} finally {
  await weed.stop();
  await rm(scratch, { recursive: true, force: true });
}
