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
