import type { CellExecution, CostSettings, Objective, PlanningProblem, VariableGroup } from './problem.js';

export const DEFAULT_SERIALIZE_BYTES_PER_SEC = 400e6;
export const DEFAULT_DESERIALIZE_BYTES_PER_SEC = 800e6;

/** Predicted costs of saving and restoring one group, in milliseconds and bytes. */
export interface GroupCost {
  /** Bytes a checkpoint writes for it (0 when already stored). */
  bytes: number;
  /** Serialize (measured `serializeMs`, else bytes / serialize throughput) + store write + latency. */
  checkpointMs: number;
  /** Deserialize (measured `loadMs`, else bytes / deserialize throughput) + store read + latency. */
  loadMs: number;
  /** True when the shim measured both serialize and load times. */
  measured: boolean;
  /** Fingerprinting its values after recomputing them (the restore's verification). */
  verifyMs: number;
}

export function groupCost(group: VariableGroup, costs: CostSettings): GroupCost {
  const serializeBps = costs.serializeBytesPerSec ?? DEFAULT_SERIALIZE_BYTES_PER_SEC;
  const deserializeBps = costs.deserializeBytesPerSec ?? DEFAULT_DESERIALIZE_BYTES_PER_SEC;
  const serializeMs = group.serializeMs ?? (group.bytes / serializeBps) * 1000;
  const deserializeMs = group.loadMs ?? (group.bytes / deserializeBps) * 1000;
  const { writeBytesPerSec, readBytesPerSec, latencyMs } = costs.store;
  const verifyMs = group.verifyMs ?? 0;
  if (group.stored) {
    return { bytes: 0, checkpointMs: 0, loadMs: deserializeMs + (group.bytes / readBytesPerSec) * 1000 + latencyMs, measured: group.loadMs !== undefined, verifyMs };
  }
  return {
    bytes: group.bytes,
    checkpointMs: serializeMs + (group.bytes / writeBytesPerSec) * 1000 + latencyMs,
    loadMs: deserializeMs + (group.bytes / readBytesPerSec) * 1000 + latencyMs,
    measured: group.serializeMs !== undefined && group.loadMs !== undefined,
    verifyMs,
  };
}

/** Predicted time to rerun a cell on the target machine. */
export function rerunMs(cell: CellExecution, costs: CostSettings): number {
  return cell.runtimeMs / costs.targetSpeedFactor;
}

/** Every group's and cell's predicted costs as flat arrays (computed once per problem). */
export interface CostTable {
  checkpointMs: Float64Array;
  loadMs: Float64Array;
  bytes: Float64Array;
  /** Per group: verifying it when it is recomputed (part of the restore). */
  verifyMs: Float64Array;
  rerunMs: Float64Array;
}

export function costTable(problem: PlanningProblem): CostTable {
  const groupCount = problem.groups.length;
  const table: CostTable = {
    checkpointMs: new Float64Array(groupCount),
    loadMs: new Float64Array(groupCount),
    bytes: new Float64Array(groupCount),
    verifyMs: new Float64Array(groupCount),
    rerunMs: new Float64Array(problem.cells.length),
  };
  for (let g = 0; g < groupCount; g++) {
    const cost = groupCost(problem.groups[g]!, problem.costs);
    table.checkpointMs[g] = cost.checkpointMs;
    table.loadMs[g] = cost.loadMs;
    table.bytes[g] = cost.bytes;
    table.verifyMs[g] = cost.verifyMs;
  }
  for (let c = 0; c < problem.cells.length; c++) table.rerunMs[c] = rerunMs(problem.cells[c]!, problem.costs);
  return table;
}

/**
 * Integer min-cut capacities: what serializing each group costs, what recomputing it costs besides
 * the reruns (verifying it), and what rerunning each cell costs, under one objective. `quantum` is
 * the size of one capacity unit (in µs, or µs-weighted bytes).
 *
 * Capacities are integers so the flow arithmetic in float64 is exact. The unit is 1 µs unless the
 * total would exceed 2^51, in which case everything is scaled down by one common factor (the only
 * epsilon in the planner: a relative rounding of at most one unit per node).
 */
export interface Capacities {
  group: Float64Array;
  groupRecompute: Float64Array;
  cell: Float64Array;
  quantum: number;
}

const MAX_TOTAL = 2 ** 51;

export function objectiveCapacities(costs: CostTable, objective: Objective): Capacities {
  const groupCount = costs.loadMs.length;
  const cell = costs.rerunMs.map((ms) => ms * 1000);
  const load = costs.loadMs.map((ms) => ms * 1000);
  const verify = costs.verifyMs.map((ms) => ms * 1000);
  const group = new Float64Array(groupCount);
  // Bytes first, restore time as the tie-break: weight a byte above any possible restore-time difference.
  const k = objective === 'bytes' ? Math.round(sum(load) + sum(cell) + sum(verify)) + 1 : 0;
  for (let g = 0; g < groupCount; g++) {
    if (objective === 'restore') group[g] = load[g]!;
    else if (objective === 'migration') group[g] = costs.checkpointMs[g]! * 1000 + load[g]!;
    else group[g] = costs.bytes[g]! * k + load[g]!;
  }
  return quantize(group, verify, cell);
}

/** Deadline mode's relaxed objective: restore time + λ · checkpoint time (see deadline.ts). */
export function lagrangianCapacities(costs: CostTable, lambda: number): Capacities {
  const group = costs.loadMs.map((ms, g) => (ms + lambda * costs.checkpointMs[g]!) * 1000);
  return quantize(group, costs.verifyMs.map((ms) => ms * 1000), costs.rerunMs.map((ms) => ms * 1000));
}

function quantize(group: Float64Array, groupRecompute: Float64Array, cell: Float64Array): Capacities {
  const total = sum(group) + sum(groupRecompute) + sum(cell);
  const quantum = total > MAX_TOTAL ? total / MAX_TOTAL : 1;
  const round = (a: Float64Array): Float64Array => a.map((x) => Math.round(x / quantum));
  return { group: round(group), groupRecompute: round(groupRecompute), cell: round(cell), quantum };
}

function sum(a: Float64Array): number {
  let s = 0;
  for (const x of a) s += x;
  return s;
}
