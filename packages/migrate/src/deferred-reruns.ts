/**
 * Reruns after the hand-over (background restore, issue 17): the kernel is usable before the
 * restore's last reruns have run. The shim runs them on the kernel's main thread, in order, between
 * cells (the coordinator asks for one at a time) or just before a cell that needs one of their names
 * (python-shim reruns.py); each rerun's values are fingerprinted as it leaves them.
 */
import type { PlanningProblem, RestoreStep } from '@nbferry/planner';
import { SHIM_TIMEOUTS_MS, type CellRecord, type Recorder } from '@nbferry/recorder';
import type { CallOptions } from '@nbferry/kernel';
import type { RngState } from './shim-api.js';

type LoadStep = RestoreStep & { kind: 'load' };
type RunStep = RestoreStep & { kind: 'run' };

export interface HandOverSplit {
  /** Run before the hand-over. */
  now: RestoreStep[];
  /** Reruns after the hand-over, in program order. */
  reruns: RunStep[];
  /** Loads after the hand-over, on the kernel's worker thread. */
  later: LoadStep[];
}

/**
 * Splits a program at the hand-over. Loads no later rerun needs (reads, writes or deletes one of
 * their names) go after it, as before. Before it: everything else up to the last load a later
 * rerun needs, and up to any rerun that rebinds a name a load after it binds (that load must land
 * after it). After it: the remaining reruns, in order; they touch no name of the loads after it, so
 * the loads can bind whenever no cell runs (they unpickle only after the last rerun, which may
 * define a class or import a module their values need).
 */
export function splitAtHandOver(program: readonly RestoreStep[], problem: PlanningProblem): HandOverSplit {
  const cells = new Map(problem.cells.map((c) => [c.id, c]));
  const names = (step: RunStep, kinds: ('reads' | 'writes' | 'deletes')[]): string[] => {
    const cell = cells.get(step.cell);
    return cell ? kinds.flatMap((k) => cell[k]) : [];
  };
  const neededLater = (index: number, bound: ReadonlySet<string>): boolean =>
    program.slice(index + 1).some((next) => next.kind === 'run' && (!cells.has(next.cell) || names(next, ['reads', 'writes', 'deletes']).some((n) => bound.has(n))));
  let cut = -1; // the last step before the hand-over
  const later: LoadStep[] = [];
  for (const [index, step] of program.entries()) {
    if (step.kind === 'load') {
      if (neededLater(index, new Set(step.names))) cut = index;
      else later.push(step);
    } else if (!cells.has(step.cell)) {
      cut = index;
    } else {
      const rebound = new Set(names(step, ['writes', 'deletes']));
      if (program.slice(index + 1).some((next) => next.kind === 'load' && next.names.some((n) => rebound.has(n)))) cut = index;
    }
  }
  const deferred = new Set<RestoreStep>(later);
  return {
    now: program.slice(0, cut + 1).filter((s) => !deferred.has(s)),
    reruns: program.slice(cut + 1).filter((s): s is RunStep => s.kind === 'run'),
    later,
  };
}

export interface DeferredRerunResult {
  ok: boolean;
  /** Skipped: it needs what an earlier failed rerun would have written. */
  skipped?: boolean;
  error?: string;
  seconds?: number;
  /** Of the names asked to verify that the rerun left bound. */
  fingerprints?: Record<string, { digest: string | null; reliable: boolean; error: string | null }>;
}

export interface DeferredRerunCell {
  step: RunStep;
  record: CellRecord;
  /** Names it writes or deletes that the verification checks. */
  verify: string[];
}

/**
 * Queues the reruns in the kernel: from now on a cell that names one of their names runs them first.
 * Returns the names gated (read, written or deleted by a pending rerun).
 */
export async function queueReruns(
  recorder: Recorder,
  cells: readonly DeferredRerunCell[],
  problem: PlanningProblem,
  rng: ReadonlyMap<number, RngState>,
  options: CallOptions & { strays: readonly string[]; algo: string },
): Promise<string[]> {
  const byId = new Map(problem.cells.map((c) => [c.id, c]));
  const specs = cells.map(({ step, record, verify }) => {
    const cell = byId.get(step.cell);
    const state = rng.get(step.cell);
    return {
      code: record.code,
      label: `[${record.executionCount ?? step.cell}]`,
      reads: cell?.reads ?? [],
      writes: [...(cell?.writes ?? []), ...(cell?.deletes ?? [])],
      names: [...(cell?.reads ?? []), ...(cell?.writes ?? []), ...(cell?.deletes ?? [])],
      verify,
      ...(state && (state.python || state.numpy) ? { rng: { ...(state.python ? { python: state.python } : {}), ...(state.numpy ? { numpy: state.numpy } : {}) } } : {}),
    };
  });
  const { result } = await recorder.request<{ names: string[] }>('rerun_deferred', { cells: specs, strays: options.strays, algo: options.algo }, {
    signal: options.signal,
    timeoutMs: options.timeoutMs,
  });
  return result.names;
}

/** Runs deferred rerun `index` (and any before it a cell has not run yet); its result. */
export async function rerunStep(recorder: Recorder, index: number, options: CallOptions): Promise<DeferredRerunResult> {
  const { result } = await recorder.request<DeferredRerunResult>('rerun_step', { index }, {
    signal: options.signal,
    timeoutMs: options.timeoutMs ?? SHIM_TIMEOUTS_MS.bulk,
  });
  return result;
}
