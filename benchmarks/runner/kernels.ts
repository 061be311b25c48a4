/** Kernels for the benchmark: start one in a notebook's directory, run its cells, read its peak memory. */
import { readFileSync } from 'node:fs';
import { launchKernel, type Kernel, type KernelClient } from '@nbferry/kernel';
import type { Notebook } from '@nbferry/protocol';

export interface KernelSetup {
  python: string;
  cwd: string;
  env: Record<string, string>;
  signal: AbortSignal;
}

export async function startKernel(setup: KernelSetup): Promise<{ kernel: Kernel; startMs: number }> {
  const t0 = performance.now();
  const kernel = await launchKernel({ python: setup.python, cwd: setup.cwd, env: setup.env, signal: setup.signal });
  return { kernel, startMs: performance.now() - t0 };
}

/**
 * The pooled case's kernel (issue 17): what a pool has ready before anyone asks, the same for every
 * method: numpy and pandas imported (WarmPool's default), those of them the notebook imports.
 */
export function poolModules(notebook: Notebook): string[] {
  const code = notebook.cells.map((c) => c.source).join('\n');
  return ['numpy', 'pandas'].filter((m) => new RegExp(`\\b(import|from)\\s+${m}\\b`).test(code));
}

/** Imports `modules` in the kernel (silently); returns the time it took. */
export async function importModules(client: KernelClient, modules: readonly string[], signal: AbortSignal): Promise<number> {
  const t0 = performance.now();
  if (modules.length > 0) await client.execute(modules.map((m) => `import ${m}`).join('\n'), { silent: true, storeHistory: false, signal });
  return performance.now() - t0;
}

export interface CellsRun {
  /** Wall time of all cells, each measured as execute request to reply + idle. */
  cellMs: number;
  /** The first cell that raised without being declared to raise (the run stops there, as Run All does). */
  failure?: string;
}

/** Runs every code cell in order; `prefix` is put before each cell's source (e.g. a recording magic). */
export async function runCells(client: KernelClient, notebook: Notebook, signal: AbortSignal, prefix = '', afterCell?: () => Promise<void>): Promise<CellsRun> {
  let cellMs = 0;
  for (const cell of notebook.cells) {
    const t0 = performance.now();
    const result = await client.execute(prefix + cell.source, { cellId: cell.id, signal, stopOnError: false });
    cellMs += performance.now() - t0;
    await afterCell?.(); // not counted as cell time (an auto-checkpoint between cells)
    if (result.status !== 'ok' && !cell.expectError) {
      const error = result.error ? `${result.error.ename}: ${result.error.evalue}` : result.status;
      return { cellMs, failure: `cell ${cell.index + 1} raised ${error.slice(0, 200)}` };
    }
  }
  return { cellMs };
}

/** Peak resident set size (VmHWM) of a kernel we launched, in MiB; null where /proc cannot tell. */
export function peakRssMiB(kernel: Kernel): number | null {
  const pid = kernel.client.process?.pid;
  if (pid === undefined) return null;
  try {
    const match = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** Disposes kernels, never throwing (cleanup after a failure must not hide the failure). */
export async function disposeAll(...kernels: (Kernel | undefined)[]): Promise<void> {
  await Promise.all(kernels.map((k) => k?.dispose().catch(() => {})));
}
