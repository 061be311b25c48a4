/**
 * How long an auto-checkpoint in flight holds up the user's next cell, per lane (issue 12): the
 * shim's work on a kernel subshell beside the cells (`subshell`) or on the main shell between
 * cells (`main`), against no auto-checkpoint (`none`). The GIL is the question: hashing and file
 * writes release it, pickling does not, so two states are measured: large arrays (640 MB) and
 * many small objects (2·10^6 tuples, pickled by the interpreter).
 *
 * Per run: a fresh recorded kernel builds the state in one cell (the auto-checkpointer, idle 0,
 * starts the moment it ends); a probe cell (a fixed 0.3 s of Python work) is sent when the
 * checkpoint reaches `--at` (`measure`: it has just started measuring; `save`: its first bytes are
 * stored), or 1 s after the state cell without auto-checkpoint. Reported: the probe's wall time
 * (send to reply), median over `--repeat` runs in rotating order, and its excess over `none`.
 *
 *   npx tsx --conditions=source benchmarks/background-delay.ts [--repeat N] [--at measure,save]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { launchKernel } from '@nbferry/kernel';
import { AutoCheckpointer, type ProgressEvent } from '@nbferry/migrate';
import { Recorder } from '@nbferry/recorder';
import { LocalStore } from '@nbferry/store';
import { testPython } from '../test/support/python.js';
import { median } from './stats.js';

const { values } = parseArgs({ options: { repeat: { type: 'string', default: '3' }, at: { type: 'string', default: 'measure,save' } } });
const repeat = Number(values.repeat);
const moments = values.at.split(',') as ('measure' | 'save')[];

// Seeded from OS entropy: no rerun can bring them back, so the checkpoint must save them.
const STATES = {
  'arrays 640 MB': 'import os, numpy as np\nbig = np.random.default_rng(int.from_bytes(os.urandom(8), "big")).random(80_000_000)',
  '2e6 small objects': 'import os\nsalt = os.urandom(4).hex()\nrows = [(i, salt + str(i), i * 0.5) for i in range(2_000_000)]',
};
const PROBE = 'probe = sum(i * i for i in range(3_000_000))';

type Lane = 'none' | 'subshell' | 'main';

/** The probe cell's wall time in ms, and what became of the checkpoint in flight. */
async function probeOnce(state: string, lane: Lane, at: 'measure' | 'save'): Promise<{ ms: number; abandoned: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'nbf-bench-bgdelay-'));
  const kernel = await launchKernel({ python: testPython(), cwd: dir });
  try {
    const recorder = await Recorder.attach(kernel.client);
    let probe: Promise<number> | undefined;
    const sendProbe = () => {
      const sent = performance.now();
      probe ??= kernel.client.execute(PROBE).then(() => performance.now() - sent);
    };
    const reached = (event: ProgressEvent) => (at === 'measure' ? event.phase === 'measure' : event.phase === 'bytes' && event.done > 0);
    const auto =
      lane === 'none'
        ? undefined
        : new AutoCheckpointer(recorder, new LocalStore(join(dir, 'store')), { idleMs: 0, lane, onProgress: (event) => reached(event) && sendProbe() });
    await kernel.client.execute(state);
    if (!auto) setTimeout(sendProbe, 1000);
    while (!probe) {
      const { committed, abandoned, failed } = auto?.stats ?? { committed: 0, abandoned: 0, failed: 0 };
      if (committed + abandoned + failed > 0) throw new Error(`the checkpoint ended before it reached ${at}: ${JSON.stringify(auto!.stats)}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const ms = await probe;
    await auto?.stop();
    if (auto && auto.lane !== lane) throw new Error(`ran on the ${auto.lane} lane, not ${lane}`);
    return { ms, abandoned: auto?.stats.abandoned ?? 0 };
  } finally {
    await kernel.dispose();
    await rm(dir, { recursive: true, force: true });
  }
}

const lanes: Lane[] = ['none', 'subshell', 'main'];
console.log(`probe cell: ${PROBE}; ${repeat} runs per setting, rotating order; load average ${(await import('node:os')).loadavg().map((l) => l.toFixed(1)).join(' ')}`);
for (const [label, state] of Object.entries(STATES)) {
  for (const at of moments) {
    const times = new Map<Lane, number[]>(lanes.map((l) => [l, []]));
    for (let i = 0; i < repeat; i++) {
      for (let k = 0; k < lanes.length; k++) {
        const lane = lanes[(i + k) % lanes.length]!;
        times.get(lane)!.push((await probeOnce(state, lane, at)).ms);
      }
    }
    const none = median(times.get('none')!);
    const cells = lanes.map((lane) => {
      const m = median(times.get(lane)!);
      const runs = times.get(lane)!.map((t) => t.toFixed(0)).join('/');
      return `${lane} ${m.toFixed(0)} ms${lane === 'none' ? '' : ` (+${(m - none).toFixed(0)})`} [${runs}]`;
    });
    console.log(`${label}, probe at ${at}: ${cells.join('; ')}`);
  }
}
