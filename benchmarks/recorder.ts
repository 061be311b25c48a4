/**
 * npm run bench:recorder — what recording costs, measured end to end on real kernels: the same
 * workload in a recorded and an unrecorded kernel, side by side in one run. Per probe cell: median
 * execute round trip (reply + idle) in each, and the difference; memory: each kernel's resident
 * memory after a garbage collection and malloc_trim (what stays, not allocator slack), against the
 * namespace's own footprint (the unrecorded kernel's growth during setup), and the peak (VmHWM).
 */
import { readFileSync } from 'node:fs';
import { launchKernel, type Kernel } from '@nbferry/kernel';
import { Recorder } from '@nbferry/recorder';
import { testPython } from '../test/support/python.js';
import { fmtMs, median } from './stats.js';

interface Scenario {
  name: string;
  setup: string;
  probes: [label: string, code: string][];
}

const SCENARIOS: Scenario[] = [
  {
    name: '1 GiB of numpy arrays (8 x 128 MiB)',
    setup: 'import numpy as np\narrays = [np.random.rand(16 * 1024 * 1024) for _ in range(8)]\nsmall = np.arange(10)',
    probes: [
      ['trivial: x = 1', 'x = 1'],
      ['reads a small array', 'y = small.sum()'],
      ['touches a 128 MiB array', 'm = arrays[0].mean()'],
    ],
  },
  {
    name: '10^6 small Python objects',
    setup: 'lists = [[i] for i in range(10**6)]\nd = {str(i): i for i in range(10**6)}',
    probes: [
      ['trivial: x = 1', 'x = 1'],
      ['touches the dict', "v = d['5']"],
      ['touches the list', 'n = len(lists)'],
    ],
  },
  {
    name: 'typical pandas workflow (10^6 rows x 6 columns)',
    setup:
      'import numpy as np, pandas as pd\nrng = np.random.default_rng(0)\n' +
      'df = pd.DataFrame({c: rng.normal(size=10**6) for c in "abcde"})\ndf["k"] = rng.integers(0, 100, 10**6)',
    probes: [
      ['trivial: x = 1', 'x = 1'],
      ['df.head()', 'h = df.head()'],
      ['groupby mean', "g = df.groupby('k').a.mean()"],
      ['new column', "df['z'] = df.a * 2"],
    ],
  },
];

const REPEATS = 9;

function memMiB(kernel: Kernel, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number {
  const status = readFileSync(`/proc/${kernel.client.process!.pid}/status`, 'utf8');
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)![1]) / 1024;
}

/** Resident memory once garbage is collected and the allocator has returned free pages. */
async function retainedMiB(kernel: Kernel): Promise<number> {
  const trim = 'import gc as __gc, ctypes as __ct\n__gc.collect()\n__ct.CDLL("libc.so.6").malloc_trim(0)\ndel __gc, __ct';
  await kernel.client.execute(trim, { silent: true, storeHistory: false });
  return memMiB(kernel);
}

async function timeCell(kernel: Kernel, code: string): Promise<number> {
  const start = performance.now();
  const result = await kernel.client.execute(code);
  if (result.status !== 'ok') throw new Error(`${code}: ${result.error?.ename}: ${result.error?.evalue}`);
  return performance.now() - start;
}

console.log('nbferry recorder overhead: recorded vs unrecorded kernel, same workload, same run');
for (const scenario of SCENARIOS) {
  const plain = await launchKernel({ python: testPython() });
  const recorded = await launchKernel({ python: testPython() });
  try {
    const startRss = [await retainedMiB(plain), await retainedMiB(recorded)];
    await Recorder.attach(recorded.client);
    const attachedRss = await retainedMiB(recorded);
    for (const kernel of [plain, recorded]) await timeCell(kernel, scenario.setup);
    const baseRss = [await retainedMiB(plain), await retainedMiB(recorded)];
    const namespace = baseRss[0]! - startRss[0]!;
    console.log(
      `\n== ${scenario.name}: namespace ${namespace.toFixed(0)} MiB; RSS unrecorded ${baseRss[0]!.toFixed(0)} MiB, ` +
        `recorded ${baseRss[1]!.toFixed(0)} MiB (the shim itself: ${(attachedRss - startRss[1]!).toFixed(1)} MiB at attach)`,
    );
    for (const [label, code] of scenario.probes) {
      const times: [number[], number[]] = [[], []];
      // Interleaved, so machine noise hits both kernels alike.
      for (let i = 0; i < REPEATS; i++) {
        times[0].push(await timeCell(plain, code));
        times[1].push(await timeCell(recorded, code));
      }
      const [a, b] = [median(times[0]), median(times[1])];
      console.log(
        `   ${label.padEnd(26)} unrecorded ${fmtMs(a).padStart(9)} | recorded ${fmtMs(b).padStart(9)} | extra ${fmtMs(b - a).padStart(9)} (${(((b - a) / a) * 100).toFixed(0)}%)`,
      );
    }
    const [p, r] = [await retainedMiB(plain), await retainedMiB(recorded)];
    const [hp, hr] = [memMiB(plain, 'VmHWM'), memMiB(recorded, 'VmHWM')];
    const pct = (x: number, of: number) => `${((x / of) * 100).toFixed(1)}%`;
    console.log(
      `   memory after probes: unrecorded ${p.toFixed(0)} MiB, recorded ${r.toFixed(0)} MiB: +${(r - p).toFixed(1)} MiB = ` +
        `${pct(r - p, namespace)} of the namespace (${pct(r - p, p)} of the kernel); peak ${hp.toFixed(0)} vs ${hr.toFixed(0)} MiB (${pct(hr - hp, hp)})`,
    );
  } finally {
    await plain.dispose();
    await recorded.dispose();
  }
}
