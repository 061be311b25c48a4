/**
 * Kishu's environment: a separate venv under benchmarks/.venvs/kishu (git-ignored), created on
 * first use with Kishu from PyPI and the same versions of the workload libraries as the
 * benchmark's Python, so both run the notebooks on equal terms. Reused while the pins match.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Libraries whose versions the Kishu venv copies from the benchmark's Python (when installed there). */
const WORKLOAD = ['ipykernel', 'jupyter_client', 'numpy', 'pandas', 'scikit-learn', 'scipy', 'matplotlib', 'dill'];

export type KishuEnv = { python: string; version: string } | { unavailable: string };

export async function ensureKishuEnv(repoRoot: string, basePython: string, log: (line: string) => void): Promise<KishuEnv> {
  const root = join(repoRoot, 'benchmarks', '.venvs');
  const venv = join(root, 'kishu');
  const python = join(venv, 'bin', 'python');
  try {
    const pins = await workloadPins(basePython);
    const requirements = ['kishu', ...pins];
    const marker = join(venv, '.nbferry-requirements');
    const wanted = requirements.join('\n');
    const have = existsSync(marker) ? await readFile(marker, 'utf8') : undefined;
    if (have !== wanted || !existsSync(python)) {
      log(`kishu: creating ${venv} (pip install ${requirements.join(' ')})`);
      await mkdir(root, { recursive: true });
      await writeFile(join(root, '.gitignore'), '*\n');
      const base = (await run(basePython, ['-c', 'import sys; print(sys._base_executable)'])).stdout.trim();
      await run(base, ['-m', 'venv', '--clear', venv]);
      await run(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', ...requirements], {
        maxBuffer: 64 * 1024 * 1024,
        timeout: 900_000,
      });
      await writeFile(marker, wanted);
    }
    const version = (await run(python, ['-c', 'import kishu; print(kishu.__version__)'])).stdout.trim();
    return { python, version };
  } catch (error) {
    const e = error as { stderr?: string; message?: string };
    const detail = (e.stderr ?? '').trim().split('\n').slice(-2).join(' | ') || e.message || String(error);
    return { unavailable: `Kishu could not be installed from PyPI here: ${detail}`.slice(0, 400) };
  }
}

async function workloadPins(python: string): Promise<string[]> {
  const code =
    'import json, importlib.metadata as m\n' +
    `names = ${JSON.stringify(WORKLOAD)}\n` +
    'out = []\n' +
    'for n in names:\n' +
    '    try: out.append(f"{n}=={m.version(n)}")\n' +
    '    except m.PackageNotFoundError: pass\n' +
    'print(json.dumps(out))';
  return JSON.parse((await run(python, ['-c', code])).stdout) as string[];
}
