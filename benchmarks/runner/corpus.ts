/**
 * The corpus: every notebook under a directory, with what its manifest.json says about it
 * (dataset, determinism, files it writes), and the data it needs generated first.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import type { DataSize } from './types.js';

const run = promisify(execFile);

export interface CorpusNotebook {
  /** Relative to the corpus root, e.g. `tricky/randomness_time.ipynb`. */
  path: string;
  absolutePath: string;
  /** The kernel's working directory: the notebook's own. */
  dir: string;
  dataset: string | null;
  deterministicRerun: boolean | null;
  nondeterministicVars: string[];
  writesFiles: string[];
}

interface ManifestEntry {
  path: string;
  dataset?: string;
  deterministic_rerun?: boolean;
  nondeterministic_vars?: string[];
  writes_files?: string[];
}

const SKIP_DIRS = new Set(['data', 'out', '.ipynb_checkpoints', 'datagen', '__pycache__', 'node_modules']);

export async function discoverCorpus(root: string, only: readonly string[]): Promise<CorpusNotebook[]> {
  const manifest = await readManifest(root);
  const paths = (await findNotebooks(root)).map((p) => relative(root, p)).sort();
  return paths
    .filter((path) => only.length === 0 || only.some((o) => path.includes(o)))
    .map((path) => {
      const entry = manifest.get(path);
      const absolutePath = join(root, path);
      return {
        path,
        absolutePath,
        dir: dirname(absolutePath),
        dataset: entry?.dataset ?? null,
        deterministicRerun: entry?.deterministic_rerun ?? null,
        nondeterministicVars: entry?.nondeterministic_vars ?? [],
        writesFiles: entry?.writes_files ?? [],
      };
    });
}

async function readManifest(root: string): Promise<Map<string, ManifestEntry>> {
  const file = join(root, 'manifest.json');
  if (!existsSync(file)) return new Map();
  const json = JSON.parse(await readFile(file, 'utf8')) as { notebooks?: ManifestEntry[] };
  return new Map((json.notebooks ?? []).map((entry) => [entry.path, entry]));
}

async function findNotebooks(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isDirectory() && !SKIP_DIRS.has(entry.name) && !entry.name.startsWith('.')) {
      found.push(...(await findNotebooks(join(dir, entry.name))));
    } else if (entry.isFile() && entry.name.endsWith('.ipynb')) {
      found.push(join(dir, entry.name));
    }
  }
  return found;
}

/**
 * Generates the datasets the notebooks read, with the corpus's own generators
 * (`python -m datagen <dataset> --size S --out <corpus>/data/<size>`); they skip what is up to date.
 * A corpus without a `datagen` package is taken as bringing its own data.
 */
export async function generateData(root: string, notebooks: readonly CorpusNotebook[], size: DataSize, python: string): Promise<string[]> {
  if (!existsSync(join(root, 'datagen'))) return [];
  const datasets = [...new Set(notebooks.map((n) => n.dataset).filter((d): d is string => d !== null))].sort();
  for (const dataset of datasets) {
    await run(python, ['-m', 'datagen', dataset, '--size', size, '--out', join(root, 'data', size)], {
      cwd: root,
      env: { ...process.env, PYTHONPATH: root },
      maxBuffer: 16 * 1024 * 1024,
    }).catch((error: unknown) => {
      const stderr = (error as { stderr?: string }).stderr ?? '';
      throw new Error(`generating ${dataset} (${size}) failed: ${stderr.trim().split('\n').slice(-3).join(' | ') || String(error)}`);
    });
  }
  return datasets;
}

/** Removes the files a notebook writes, so every source run starts from the same disk state. */
export async function cleanWrittenFiles(notebook: CorpusNotebook): Promise<void> {
  for (const file of notebook.writesFiles) await rm(join(notebook.dir, file), { force: true, recursive: true });
}
