/**
 * npm run bench:migrate — checkpoint and restore throughput of 1 GiB of numpy state against the raw
 * write and read bandwidth of the same disk, measured in the same run by the same kernel process.
 *
 * `--full-verification`: fingerprint every restored variable, also those an intact load proves
 * (how restores verified before; compare the `verify` rows).
 *
 * Raw write: the kernel writes the same bytes to a file and fsyncs. Raw read: it reads them back
 * into memory. Both, like nbferry's blobs, go through the page cache of the store's file system.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchKernel, type Kernel } from '@nbferry/kernel';
import { checkpoint, restore } from '@nbferry/migrate';
import { Recorder } from '@nbferry/recorder';
import { LocalStore } from '@nbferry/store';
import { testPython } from '../test/support/python.js';
import { median } from './stats.js';

const GiB = 1024 ** 3;
const ROUNDS = 3;
const fullVerification = process.argv.includes('--full-verification');

async function evalIn(kernel: Kernel, code: string, expression: string): Promise<string> {
  const result = await kernel.client.execute(code, { silent: true, userExpressions: { v: expression } });
  const value = result.userExpressions.v;
  if (result.status !== 'ok' || value?.status !== 'ok') throw new Error(`${code}: ${result.error?.evalue ?? JSON.stringify(value)}`);
  return String(value.data['text/plain']);
}

/** Raw bandwidth in the kernel: write+fsync and read back the arrays' bytes, in a private namespace. */
async function rawDisk(kernel: Kernel, dir: string): Promise<{ writeSec: number; readSec: number }> {
  const source = `
import os, sys, time
arrays = get_ipython().user_ns["arrays"]
path = ${JSON.stringify(join(dir, 'raw.bin'))}
t0 = time.perf_counter()
with open(path, "wb") as f:
    for a in arrays:
        f.write(memoryview(a).cast("B"))
    f.flush()
    os.fsync(f.fileno())
t1 = time.perf_counter()
buf = bytearray(os.path.getsize(path))
with open(path, "rb", buffering=0) as f:
    f.readinto(buf)
t2 = time.perf_counter()
os.remove(path)
sys.__dict__["_nbf_raw"] = "%r %r" % (t1 - t0, t2 - t1)
`;
  const text = await evalIn(kernel, `exec(compile(${JSON.stringify(source)}, "<raw-disk>", "exec"), {})`, '__import__("sys").__dict__.pop("_nbf_raw")');
  const [writeSec, readSec] = text.replace(/'/g, '').split(' ').map(Number) as [number, number];
  return { writeSec, readSec };
}

const python = testPython();
const dir = await mkdtemp(join(tmpdir(), 'nbf-bench-migrate-'));
const source = await launchKernel({ python });
try {
  // Created before the recorder attaches: unknown provenance, so the plan must serialize it all.
  await evalIn(source, 'arrays = [__import__("numpy").random.rand(16 * 1024 * 1024) for _ in range(8)]', 'sum(a.nbytes for a in arrays)');
  const recorder = await Recorder.attach(source.client);
  const rows: { rawW: number; rawR: number; save: number; ckpt: number; load: number; verify: number; restore: number; bytes: number }[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const raw = await rawDisk(source, dir);
    const storeDir = join(dir, `store-${round}`);
    const saved = await checkpoint(recorder, new LocalStore(storeDir));
    const bytes = saved.checkpoint.manifest.blobs.reduce((sum, b) => sum + b.bytes, 0);
    const target = await launchKernel({ python });
    try {
      let loadMs = 0;
      let started = 0;
      const report = await restore(saved.checkpoint, target.client, {
        fullVerification,
        onProgress: (event) => {
          if (event.phase === 'load') started = performance.now();
          if (event.phase === 'verify' && started) loadMs = performance.now() - started;
        },
      });
      if (!report.verification.ok) throw new Error(`restore lost variables: ${JSON.stringify(report.verification.variables.filter((v) => v.outcome === 'lost'))} ${report.fallbacks.join('; ')}`);
      rows.push({
        rawW: raw.writeSec,
        rawR: raw.readSec,
        save: saved.timings.saveMs / 1000,
        ckpt: saved.timings.totalMs / 1000,
        load: loadMs / 1000,
        verify: report.timings.verifyMs / 1000,
        restore: report.timings.totalMs / 1000,
        bytes,
      });
    } finally {
      await target.dispose();
    }
    await rm(storeDir, { recursive: true, force: true });
  }
  const m = (key: keyof (typeof rows)[number]) => median(rows.map((r) => r[key]));
  const gib = m('bytes') / GiB;
  const rate = (sec: number) => `${((gib * 1024) / sec).toFixed(0)} MiB/s`;
  console.log(`nbferry checkpoint/restore of ${gib.toFixed(2)} GiB of numpy arrays (median of ${ROUNDS}), same disk, same run`);
  console.log(`  raw write + fsync      ${m('rawW').toFixed(2)} s  ${rate(m('rawW'))}`);
  console.log(`  nbferry save (blobs)   ${m('save').toFixed(2)} s  ${rate(m('save'))}  = ${((m('rawW') / m('save')) * 100).toFixed(0)}% of raw (issue 17: stays ≥ 85%)`);
  console.log(`  nbferry checkpoint     ${m('ckpt').toFixed(2)} s  ${rate(m('ckpt'))}  = ${((m('rawW') / m('ckpt')) * 100).toFixed(0)}% of raw (measure + plan + save + commit)`);
  console.log(`  raw read               ${m('rawR').toFixed(2)} s  ${rate(m('rawR'))}`);
  console.log(`  nbferry load (blobs)   ${m('load').toFixed(2)} s  ${rate(m('load'))}  = ${((m('rawR') / m('load')) * 100).toFixed(0)}% of raw (issue 17: ≥ 80%)`);
  console.log(`  nbferry verify         ${m('verify').toFixed(2)} s  (${fullVerification ? 'every variable fingerprinted: --full-verification' : 'what an intact load proves is not fingerprinted again'})`);
  console.log(`  nbferry restore        ${m('restore').toFixed(2)} s  ${rate(m('restore'))}  (compatibility + shim + load + verify)`);
} finally {
  await source.dispose();
  await rm(dir, { recursive: true, force: true });
}
