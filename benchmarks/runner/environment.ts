/** Where and with what a benchmark ran: machine, Python and library versions, git revision. */
import { execFile } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface RunEnvironment {
  date: string;
  machine: { cpu: string; cores: number; memoryGiB: number; loadAverageAtStart: number };
  node: string;
  python: string;
  libraries: Record<string, string>;
  git: string;
}

const LIBRARIES = ['ipykernel', 'numpy', 'pandas', 'scikit-learn', 'scipy', 'matplotlib', 'dill', 'cloudpickle', 'xxhash'];

export async function describeEnvironment(python: string, repoRoot: string): Promise<RunEnvironment> {
  const code =
    'import json, sys, importlib.metadata as m\n' +
    'v = {}\n' +
    `for n in ${JSON.stringify(LIBRARIES)}:\n` +
    '    try: v[n] = m.version(n)\n' +
    '    except m.PackageNotFoundError: pass\n' +
    'print(json.dumps({"python": sys.version.split()[0], "libraries": v}))';
  const py = JSON.parse((await run(python, ['-c', code])).stdout) as { python: string; libraries: Record<string, string> };
  const git = await run('git', ['-C', repoRoot, 'describe', '--always', '--dirty'])
    .then((r) => r.stdout.trim())
    .catch(() => 'unknown');
  return {
    date: new Date().toISOString(),
    machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30), loadAverageAtStart: loadavg()[0]! },
    node: process.version,
    python: py.python,
    libraries: py.libraries,
    git,
  };
}
