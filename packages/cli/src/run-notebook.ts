/** Runs a notebook's code cells top to bottom in a kernel, as "Run All" does, streaming outputs. */
import { readFile } from 'node:fs/promises';
import type { ExecuteResult, KernelClient, Output } from '@nbferry/kernel';
import { parseNotebook, type Notebook, type NotebookCell } from '@nbferry/protocol';

export interface CellRun {
  cell: NotebookCell;
  result: ExecuteResult;
  ms: number;
}

export async function readNotebook(path: string): Promise<Notebook> {
  return parseNotebook(await readFile(path, 'utf8'), path);
}

export interface RunNotebookOptions {
  signal?: AbortSignal;
  onCellStart?: (cell: NotebookCell) => void;
  onOutput?: (cell: NotebookCell, output: Output) => void;
  /** Bound on each cell's run (RequestTimeoutError past it); default: none, a cell may run for hours. */
  cellTimeoutMs?: number;
  /** Give a cell up when the kernel stops answering its control channel this long (KernelUnresponsiveError). */
  unresponsiveMs?: number;
  /** Awaited after each cell, before the next one is sent. */
  afterCell?: (run: CellRun) => Promise<void>;
  /** Stop at the first unexpected error (default true), as Run All does. */
  stopOnError?: boolean;
}

export async function runNotebook(client: KernelClient, notebook: Notebook, options: RunNotebookOptions = {}): Promise<CellRun[]> {
  const runs: CellRun[] = [];
  for (const cell of notebook.cells) {
    options.onCellStart?.(cell);
    const started = performance.now();
    const result = await client.execute(cell.source, {
      cellId: cell.id,
      signal: options.signal,
      timeoutMs: options.cellTimeoutMs,
      unresponsiveMs: options.unresponsiveMs,
      // Expected errors must not abort the queue: a notebook may declare a failing cell.
      stopOnError: false,
      onOutput: (output) => options.onOutput?.(cell, output),
    });
    const run = { cell, result, ms: performance.now() - started };
    runs.push(run);
    await options.afterCell?.(run);
    if (result.status === 'error' && !cell.expectError && (options.stopOnError ?? true)) break;
  }
  return runs;
}
