/**
 * npm run bench:kernel — the kernel layer's speed, against Python's jupyter_client in the same run:
 * spawn→ready latency, trivial execute round trip (median of 200), comm throughput for 100 MiB.
 */
import { execFileSync } from 'node:child_process';
import { dirname } from 'node:path';
import { loadavg } from 'node:os';
import { launchKernel } from '@nbferry/kernel';
import { repoRoot, testPython } from '../test/support/python.js';
import { fmtMs, median, quantile } from './stats.js';

const python = testPython();
const ROUNDS = 200;
const MiB = 1024 * 1024;

type Transport = 'ipc' | 'tcp';

async function spawnToReady(transport: Transport, runs: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    const kernel = await launchKernel({ python, transport });
    times.push(performance.now() - start);
    await kernel.dispose();
  }
  return times;
}

async function roundTrips(transport: Transport): Promise<number[]> {
  const kernel = await launchKernel({ python, transport });
  try {
    const samples: number[] = [];
    for (let i = 0; i < ROUNDS + 20; i++) {
      const start = performance.now();
      await kernel.client.execute('1', { silent: true, storeHistory: false });
      if (i >= 20) samples.push(performance.now() - start);
    }
    return samples;
  } finally {
    await kernel.dispose();
  }
}

/** Kernel→coordinator and coordinator→kernel comm throughput, 100 MiB as 10 buffers of 10 MiB. */
async function commThroughput(transport: Transport): Promise<{ down: number; up: number }> {
  const kernel = await launchKernel({ python, transport });
  try {
    await kernel.client.execute(`
import comm
_blob = bytes(10 * 1024 * 1024)
def _target(c, open_msg):
    @c.on_msg
    def _recv(msg):
        if msg["content"]["data"]["op"] == "pull":
            c.send({"n": 10}, buffers=[_blob] * 10)
        else:
            c.send({"got": sum(len(b) for b in msg["buffers"])})
comm.get_comm_manager().register_target("bench", _target)
`);
    const comm = await kernel.client.openComm('bench');
    let received = 0;
    comm.events.on('message', (m) => (received += m.buffers.reduce((n, b) => n + b.byteLength, 0)));
    await comm.send({ op: 'pull' }); // warm-up
    const downTimes: number[] = [];
    const upTimes: number[] = [];
    const chunk = Buffer.alloc(10 * MiB, 7);
    for (let i = 0; i < 5; i++) {
      received = 0;
      let start = performance.now();
      await comm.send({ op: 'pull' });
      downTimes.push(performance.now() - start);
      if (received !== 100 * MiB) throw new Error(`received ${received} bytes, expected 100 MiB`);
      start = performance.now();
      await comm.send({ op: 'push' }, Array.from({ length: 10 }, () => chunk));
      upTimes.push(performance.now() - start);
    }
    return { down: (100 / median(downTimes)) * 1000, up: (100 / median(upTimes)) * 1000 };
  } finally {
    await kernel.dispose();
  }
}

function jupyterClientReference(): { ready_s: number; rtt_median_s: number } {
  const out = execFileSync(python, [`${repoRoot}benchmarks/python/jupyter_client_rtt.py`, String(ROUNDS)], {
    env: { ...process.env, JUPYTER_PATH: `${dirname(dirname(python))}/share/jupyter` },
    encoding: 'utf8',
  });
  return JSON.parse(out.trim().split('\n').at(-1)!) as { ready_s: number; rtt_median_s: number };
}

const reference = jupyterClientReference();
const theirs = reference.rtt_median_s * 1000;
console.log(`nbferry kernel benchmark (same machine, same run; load average ${loadavg()[0]!.toFixed(2)} on ${(await import('node:os')).cpus().length} cores)`);
console.log(`  jupyter_client (tcp)     start_new_kernel ${fmtMs(reference.ready_s * 1000)}, execute round trip median ${fmtMs(theirs)} (n=${ROUNDS})`);
for (const transport of ['ipc', 'tcp'] as const) {
  const ready = await spawnToReady(transport, 5);
  const rtt = await roundTrips(transport);
  const comm = await commThroughput(transport);
  const ours = median(rtt);
  console.log(`  nbferry over ${transport}`);
  console.log(`    spawn → ready          median ${fmtMs(median(ready))} (min ${fmtMs(Math.min(...ready))}, n=5)`);
  console.log(`    execute round trip     median ${fmtMs(ours)} (p90 ${fmtMs(quantile(rtt, 0.9))}, n=${ROUNDS}); ratio to jupyter_client ${(ours / theirs).toFixed(2)} (target ≤ 1.00)`);
  console.log(`    comm 100 MiB           kernel→nbferry ${comm.down.toFixed(0)} MiB/s, nbferry→kernel ${comm.up.toFixed(0)} MiB/s (target ≥ 800)`);
}
