import type { CellExecution, CostSettings, PlanningProblem, VariableGroup } from '../problem.js';

/** Concise problem construction for hand-written tests. Test support. */
export function cell(id: number, runtimeMs: number, io: Partial<Omit<CellExecution, 'id' | 'runtimeMs'>> = {}): CellExecution {
  return {
    id,
    runtimeMs,
    reads: [],
    writes: [],
    deletes: [],
    success: true,
    sideEffects: false,
    nondeterministic: false,
    ...io,
  };
}

export function group(id: string, names: string[], bytes: number, extra: Partial<VariableGroup> = {}): VariableGroup {
  return { id, names, bytes, serializable: true, ...extra };
}

/** 100 MB/s store, no latency, instant (de)serialization unless measured: load time = bytes / 100 MB/s. */
export function costs(extra: Partial<CostSettings> = {}): CostSettings {
  return {
    targetSpeedFactor: 1,
    store: { writeBytesPerSec: 100e6, readBytesPerSec: 100e6, latencyMs: 0 },
    objective: 'restore',
    serializeBytesPerSec: 1e15,
    deserializeBytesPerSec: 1e15,
    ...extra,
  };
}

export function problem(cells: CellExecution[], groups: VariableGroup[], extra: Partial<CostSettings> = {}): PlanningProblem {
  return { cells, groups, costs: costs(extra) };
}

export const MB = 1_000_000;
