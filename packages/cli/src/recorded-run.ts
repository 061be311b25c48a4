/** Runs a notebook in a fresh kernel with the recorder attached, as "Run All" would. */
import { dirname, resolve } from 'node:path';
import { launchKernel, type Kernel } from '@nbferry/kernel';
import type { Notebook } from '@nbferry/protocol';
import { Recorder } from '@nbferry/recorder';
import { stopKernel } from './kernel-options.js';
import type { Limits } from './limits.js';
import { renderOutput } from './render.js';
import { readNotebook, runNotebook, type CellRun } from './run-notebook.js';

export interface RecordedRun {
  kernel: Kernel;
  recorder: Recorder;
  notebook: Notebook;
  notebookDir: string;
  runs: CellRun[];
  /** The first cell that failed and was not declared as expected to fail. */
  failed: CellRun | undefined;
  kernelReadyMs: number;
  runMs: number;
}

export interface RunHooks {
  /**
   * Called once the recorder is attached, before the first cell (e.g. to start an AutoCheckpointer);
   * may return what to await after each cell before the next one starts.
   */
  onAttached?: (recorder: Recorder) => ((run: CellRun) => Promise<void>) | undefined;
}

export async function runRecorded(
  path: string,
  python: string | undefined,
  echo: 'outputs' | 'cells' | 'none',
  signal?: AbortSignal,
  limits: Limits = {},
  hooks: RunHooks = {},
): Promise<RecordedRun> {
  const notebookPath = resolve(path);
  const notebook = await readNotebook(notebookPath);
  const notebookDir = dirname(notebookPath);
  const t0 = performance.now();
  // Kernels start in the notebook's directory with our environment, as Jupyter does.
  const kernel = await launchKernel({ python, cwd: notebookDir, signal });
  const kernelReadyMs = performance.now() - t0;
  try {
    const recorder = await Recorder.attach(kernel.client, { signal, timeoutMs: limits.timeoutMs });
    const afterCell = hooks.onAttached?.(recorder);
    const t1 = performance.now();
    const runs = await runNotebook(kernel.client, notebook, {
      signal,
      cellTimeoutMs: limits.cellTimeoutMs,
      unresponsiveMs: limits.unresponsiveMs,
      afterCell,
      onCellStart: (cell) => {
        if (echo === 'outputs') process.stdout.write(`\n── cell ${cell.index + 1}/${notebook.cells.length} ──\n`);
      },
      onOutput: (_cell, output) => {
        if (echo === 'outputs') process.stdout.write(renderOutput(output));
      },
    });
    if (echo === 'cells') {
      for (const run of runs) {
        const mark = run.result.status === 'ok' ? 'ok ' : run.cell.expectError ? 'err (expected)' : 'ERR';
        process.stdout.write(`  cell ${String(run.cell.index + 1).padStart(2)}  ${mark.padEnd(14)} ${(run.ms / 1000).toFixed(2).padStart(6)} s  ${firstLine(run.cell.source)}\n`);
      }
    }
    const failed = runs.find((r) => r.result.status === 'error' && !r.cell.expectError);
    return { kernel, recorder, notebook, notebookDir, runs, failed, kernelReadyMs, runMs: performance.now() - t1 };
  } catch (error) {
    await stopKernel(kernel, signal);
    throw error;
  }
}

function firstLine(code: string): string {
  const line = code.split('\n').find((l) => l.trim() !== '' && !l.trim().startsWith('#')) ?? '';
  return line.length > 60 ? `${line.slice(0, 57)}...` : line;
}
