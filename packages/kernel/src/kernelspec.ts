/** Kernelspecs: find `kernels/<name>/kernel.json` in the Jupyter data paths, as jupyter_client does. */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { KernelSpecNotFoundError } from './errors.js';

export interface KernelSpec {
  name: string;
  argv: string[];
  displayName: string;
  language: string;
  env: Record<string, string>;
  interruptMode: 'signal' | 'message';
  resourceDir: string;
}

export function jupyterDataPaths(extra: string[] = []): string[] {
  const env = process.env;
  const paths = [...extra];
  if (env.JUPYTER_PATH) paths.push(...env.JUPYTER_PATH.split(delimiter).filter(Boolean));
  paths.push(env.JUPYTER_DATA_DIR ?? join(homedir(), '.local', 'share', 'jupyter'));
  if (env.VIRTUAL_ENV) paths.push(join(env.VIRTUAL_ENV, 'share', 'jupyter'));
  paths.push('/usr/local/share/jupyter', '/usr/share/jupyter');
  return [...new Set(paths)];
}

export async function findKernelSpec(name: string, extraDataPaths: string[] = []): Promise<KernelSpec> {
  const searched = jupyterDataPaths(extraDataPaths).map((dir) => join(dir, 'kernels'));
  for (const kernelsDir of searched) {
    const file = join(kernelsDir, name, 'kernel.json');
    let raw: string;
    try {
      raw = await readFile(file, 'utf8');
    } catch {
      continue;
    }
    const spec = JSON.parse(raw) as {
      argv: string[];
      display_name?: string;
      language?: string;
      env?: Record<string, string>;
      interrupt_mode?: 'signal' | 'message';
    };
    return {
      name,
      argv: spec.argv,
      displayName: spec.display_name ?? name,
      language: spec.language ?? 'python',
      env: spec.env ?? {},
      interruptMode: spec.interrupt_mode ?? 'signal',
      resourceDir: dirname(file),
    };
  }
  throw new KernelSpecNotFoundError(name, searched);
}

/** argv for a Python interpreter that has ipykernel installed. */
export function pythonKernelArgv(python: string): string[] {
  return [python, '-m', 'ipykernel_launcher', '-f', '{connection_file}'];
}

/**
 * Fills `{connection_file}` and `{resource_dir}`. A bare `python`/`python3` in argv[0] means "the
 * Python that installed this spec" to Jupyter: `python` when given, else `<prefix>/bin/python` when
 * the spec lives in `<prefix>/share/jupyter/kernels/<name>` (a venv's own spec), else PATH's.
 */
export function expandArgv(argv: string[], connectionFile: string, resourceDir = '', python?: string): string[] {
  return argv.map((arg, index) => {
    if (index === 0 && (arg === 'python' || arg === 'python3')) return python ?? prefixPython(resourceDir) ?? arg;
    return arg.replaceAll('{connection_file}', connectionFile).replaceAll('{resource_dir}', resourceDir);
  });
}

function prefixPython(resourceDir: string): string | undefined {
  if (!resourceDir) return undefined;
  const candidate = join(resourceDir, '..', '..', '..', '..', 'bin', 'python');
  return existsSync(candidate) ? candidate : undefined;
}
