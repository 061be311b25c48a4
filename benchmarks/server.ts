/**
 * npm run bench:server — nbferry through a Jupyter Server against the direct ZeroMQ path, in one
 * run on one machine: execute round trip, shim request round trip, and comm throughput both ways
 * (64 MiB as 8 MiB messages, the chunk size nbferry uses under the server's 10 MiB limit), for
 *   - the direct ZeroMQ path (launchKernel, ipc),
 *   - a stock jupyter_server,
 *   - the same server with nbferry's TCP_NODELAY websocket connection class.
 */
import { cpus, loadavg } from 'node:os';
import { routeServicesLogs, startServerKernel } from '@nbferry/jupyter-server';
import { launchKernel, type KernelClient } from '@nbferry/kernel';
import { Recorder } from '@nbferry/recorder';
import { startJupyterServer } from '../test/support/jupyter-server.js';
import { testPython } from '../test/support/python.js';
import { fmtMs, median, quantile } from './stats.js';

const ROUNDS = 100;
const WARM_UP = 10;
const MiB = 1024 * 1024;
const CHUNK = 8 * MiB;
const TOTAL = 64 * MiB;
const REPEATS = 3;

interface Row {
  path: string;
  execute: number[];
  shim: number[];
  down: number;
  up: number;
}

async function measure(path: string, client: KernelClient): Promise<Row> {
  const execute: number[] = [];
  for (let i = 0; i < ROUNDS + WARM_UP; i++) {
    const start = performance.now();
    await client.execute('1', { silent: true, storeHistory: false });
    if (i >= WARM_UP) execute.push(performance.now() - start);
  }
  const recorder = await Recorder.attach(client);
  const shim: number[] = [];
  for (let i = 0; i < ROUNDS + WARM_UP; i++) {
    const start = performance.now();
    await recorder.request('history', { since: recorder.graph.lastSeq });
    if (i >= WARM_UP) shim.push(performance.now() - start);
  }
  const { down, up } = await throughput(client);
  return { path, execute, shim, down, up };
}

/** Kernel→coordinator: one request answered by 8 messages of 8 MiB; coordinator→kernel: 8 such messages. */
async function throughput(client: KernelClient): Promise<{ down: number; up: number }> {
  const setup = await client.execute(`
import comm
_chunk = bytes(${CHUNK})
def _bench_target(c, open_msg):
    @c.on_msg
    def _recv(msg):
        if msg["content"]["data"].get("op") == "pull":
            for _ in range(${TOTAL / CHUNK}):
                c.send({"n": 1}, buffers=[_chunk])
comm.get_comm_manager().register_target("nbferry-bench", _bench_target)
`);
  if (setup.status !== 'ok') throw new Error(`bench target: ${setup.error?.evalue}`);
  const comm = await client.openComm('nbferry-bench');
  let received = 0;
  comm.events.on('message', (m) => (received += m.buffers.reduce((n, b) => n + b.byteLength, 0)));
  const chunk = Buffer.alloc(CHUNK, 7);
  const downTimes: number[] = [];
  const upTimes: number[] = [];
  for (let i = 0; i <= REPEATS; i++) {
    received = 0;
    let start = performance.now();
    await comm.send({ op: 'pull' });
    if (received !== TOTAL) throw new Error(`received ${received} bytes, expected ${TOTAL}`);
    if (i > 0) downTimes.push(performance.now() - start);
    start = performance.now();
    for (let sent = 0; sent < TOTAL; sent += CHUNK) await comm.send({ op: 'push' }, [chunk]);
    if (i > 0) upTimes.push(performance.now() - start);
  }
  return { down: (TOTAL / MiB / median(downTimes)) * 1000, up: (TOTAL / MiB / median(upTimes)) * 1000 };
}

const unroute = routeServicesLogs();
const rows: Row[] = [];
const local = await launchKernel({ python: testPython() });
try {
  rows.push(await measure('direct ZeroMQ (ipc)', local.client));
} finally {
  await local.dispose();
}
for (const tuned of [false, true]) {
  const server = await startJupyterServer({ tuned });
  try {
    const kernel = await startServerKernel(server);
    try {
      rows.push(await measure(tuned ? 'jupyter_server + TCP_NODELAY' : 'jupyter_server, stock', kernel.client));
    } finally {
      await kernel.shutdown();
    }
  } finally {
    await server.stop();
  }
}
unroute();

console.log(`nbferry through Jupyter Server (same machine, same run; load average ${loadavg()[0]!.toFixed(2)} on ${cpus().length} cores)`);
console.log(`  round trips: median (p90) of ${ROUNDS}; throughput: ${TOTAL / MiB} MiB in ${CHUNK / MiB} MiB messages, median of ${REPEATS}`);
const pad = Math.max(...rows.map((r) => r.path.length));
for (const r of rows) {
  console.log(
    `  ${r.path.padEnd(pad)}  execute ${fmtMs(median(r.execute))} (${fmtMs(quantile(r.execute, 0.9))})` +
      `  shim request ${fmtMs(median(r.shim))} (${fmtMs(quantile(r.shim, 0.9))})` +
      `  kernel→nbferry ${r.down.toFixed(0)} MiB/s  nbferry→kernel ${r.up.toFixed(0)} MiB/s`,
  );
}
const [zmq, stock, tuned] = rows as [Row, Row, Row];
console.log(
  `  TCP_NODELAY saves ${fmtMs(median(stock.execute) - median(tuned.execute))} per execute round trip ` +
    `(stock ${(median(stock.execute) / median(zmq.execute)).toFixed(1)}× the ZeroMQ path, tuned ${(median(tuned.execute) / median(zmq.execute)).toFixed(1)}×)`,
);
