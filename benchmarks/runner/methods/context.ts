/** What every method driver gets for one notebook and repeat, and small helpers they share. */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Notebook } from '@nbferry/protocol';
import type { CorpusNotebook } from '../corpus.js';
import type { KernelSetup } from '../kernels.js';
import type { Fidelity, MethodName, MethodTrial, Overhead, TrialStatus } from '../types.js';

export interface TrialContext {
  notebook: CorpusNotebook;
  parsed: Notebook;
  python: string;
  /** Environment of every kernel: the data size, as the corpus's data rule wants. */
  env: Record<string, string>;
  /** A scratch directory for this notebook and repeat (checkpoints go here). */
  scratch: string;
  timeoutMs: number;
  kishuTimeoutMs: number;
  progress: (step: string) => void;
}

/** Kernel settings for this notebook, with a fresh time budget for one method. */
export function kernelSetup(ctx: TrialContext, signal: AbortSignal, python = ctx.python, env: Record<string, string> = {}): KernelSetup {
  return { python, cwd: ctx.notebook.dir, env: { ...ctx.env, ...env }, signal };
}

export function trial(method: MethodName, fields: Partial<MethodTrial> & { status: TrialStatus }): MethodTrial {
  return {
    method,
    checkpointMs: null,
    restoreMs: null,
    migrationMs: null,
    bytes: null,
    fidelity: null,
    notes: [],
    ...fields,
  };
}

export function describeError(error: unknown, signal?: AbortSignal): string {
  if (signal?.aborted) return `timed out (${String((signal.reason as Error | undefined)?.message ?? 'budget exceeded')})`;
  const e = error as { name?: string; message?: string };
  return `${e.name ?? 'Error'}: ${e.message ?? String(error)}`.replace(/\s+/g, ' ').slice(0, 300);
}

/** Bytes of every file under `path` (a file or a directory). */
export async function diskBytes(path: string): Promise<number> {
  const info = await stat(path).catch(() => undefined);
  if (!info) return 0;
  if (!info.isDirectory()) return info.size;
  let total = 0;
  for (const entry of await readdir(path)) total += await diskBytes(join(path, entry));
  return total;
}

/**
 * The instrumented side of a method's overhead; the unrecorded side is filled in by the trial,
 * which owns the unrecorded run.
 */
export function recordedOverhead(recorded: Pick<Overhead, 'recordedCellMs' | 'attachMs' | 'recordedPeakRssMiB' | 'hookMs'>): Overhead {
  return { ...recorded, unrecordedCellMs: Number.NaN, unrecordedPeakRssMiB: null };
}

export type { Fidelity };
