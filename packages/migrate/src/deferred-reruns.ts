/**
 * The program after the hand-over (background restore, issue 17): the kernel is usable before any
 * load or rerun of the restore has run. Loads go to a worker thread in the kernel; reruns run on
 * its main thread, in order, between cells (the coordinator asks for one at a time) or just before
 * a cell that needs one of their names (python-shim reruns.py). The program's order still holds
 * where it matters: a load unpickles only after the reruns placed before it (they may define a
 * class or import a module it needs, or rebind a name it binds later), and a rerun waits for the
 * loads placed before it that bind a name it touches.
 */
import type { PlanningProblem, RestoreStep } from '@nbferry/planner';
import { SHIM_TIMEOUTS_MS, type CellRecord, type Recorder } from '@nbferry/recorder';
import type { CallOptions } from '@nbferry/kernel';
import { savedStates, type RngState } from './shim-api.js';

type LoadStep = RestoreStep & { kind: 'load' };
type RunStep = RestoreStep & { kind: 'run' };

export interface DeferredProgram {
  /** In program order; `waitFor`: names bound by loads before it that it reads, writes or deletes. */
  reruns: { step: RunStep; waitFor: string[] }[];
  /** `after`: how many of `reruns` come before it in the program. */
  loads: { step: LoadStep; after: number }[];
  /** The step that binds or deletes each name last: what verification compares is what it left. */
  lastBinder: Map<string, RestoreStep>;
}

export function deferProgram(program: readonly RestoreStep[], problem: PlanningProblem): DeferredProgram {
  const cells = new Map(problem.cells.map((c) => [c.id, c]));
  const reruns: DeferredProgram['reruns'] = [];
  const loads: DeferredProgram['loads'] = [];
  const lastBinder = new Map<string, RestoreStep>();
  const loadedSoFar = new Set<string>();
  for (const step of program) {
    if (step.kind === 'load') {
      loads.push({ step, after: reruns.length });
      for (const name of step.names) {
        loadedSoFar.add(name);
        lastBinder.set(name, step);
      }
      continue;
    }
    const cell = cells.get(step.cell);
    const touched = cell ? [...cell.reads, ...cell.writes, ...cell.deletes] : [...loadedSoFar];
    reruns.push({ step, waitFor: [...new Set(touched.filter((n) => loadedSoFar.has(n)))] });
    for (const name of cell ? [...cell.writes, ...cell.deletes] : []) lastBinder.set(name, step);
  }
  return { reruns, loads, lastBinder };
}

export interface DeferredRerunResult {
  ok: boolean;
  /** Skipped: it needs what an earlier failed rerun or load would have bound. */
  skipped?: boolean;
  error?: string;
  seconds?: number;
  /** Of the names asked to verify that the rerun left bound. */
  fingerprints?: Record<string, { digest: string | null; reliable: boolean; error: string | null }>;
}

export interface DeferredRerunCell {
  step: RunStep;
  record: CellRecord;
  waitFor: string[];
  /** Names it binds last that the verification checks. */
  verify: string[];
}

/** The `reruns` argument of the shim's `load_background`. */
export function rerunsArgument(
  cells: readonly DeferredRerunCell[],
  problem: PlanningProblem,
  rng: ReadonlyMap<number, RngState>,
  strays: readonly string[],
  algo: string,
): object {
  const byId = new Map(problem.cells.map((c) => [c.id, c]));
  const specs = cells.map(({ step, record, verify, waitFor }) => {
    const cell = byId.get(step.cell);
    const state = rng.get(step.cell);
    return {
      code: record.code,
      label: `[${record.executionCount ?? step.cell}]`,
      reads: cell?.reads ?? [],
      writes: [...(cell?.writes ?? []), ...(cell?.deletes ?? [])],
      deletes: cell?.deletes ?? [],
      names: [...(cell?.reads ?? []), ...(cell?.writes ?? []), ...(cell?.deletes ?? [])],
      waitFor,
      verify,
      ...(state && (state.python || state.numpy || state.env) ? { rng: savedStates(state) } : {}),
    };
  });
  return { cells: specs, strays, algo };
}

/** Runs deferred rerun `index` (and any before it a cell has not run yet); its result. */
export async function rerunStep(recorder: Recorder, index: number, options: CallOptions): Promise<DeferredRerunResult> {
  const { result } = await recorder.request<DeferredRerunResult>('rerun_step', { index }, {
    signal: options.signal,
    timeoutMs: options.timeoutMs ?? SHIM_TIMEOUTS_MS.bulk,
  });
  return result;
}
