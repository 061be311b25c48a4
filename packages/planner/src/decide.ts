import { buildNetwork } from './build-network.js';
import type { Capacities } from './cost-model.js';
import { maxFlowDinic } from './dinic.js';
import { GroupStatus, type Feasibility } from './feasibility.js';
import type { History } from './history.js';
import { maxFlowPushRelabel } from './push-relabel.js';

export type MaxFlowAlgorithm = 'push-relabel' | 'dinic';

/** A choice of what to recompute, closed under the constraints (a valid plan before ordering). */
export interface Decision {
  /** Per group: 1 if recomputed, 0 if serialized. */
  recompute: Uint8Array;
  /** Per cell: 1 if rerun. */
  rerun: Uint8Array;
  /** Min-cut network size and value, and the wall time of building and solving it. */
  network: { nodes: number; edges: number; cutValue: number; solveMs: number };
}

/** Solves the min-cut for the given capacities. */
export function decideByMinCut(
  h: History,
  f: Feasibility,
  caps: Capacities,
  algorithm: MaxFlowAlgorithm = 'push-relabel',
): Decision {
  const start = performance.now();
  const pn = buildNetwork(h, f, caps);
  const cut = algorithm === 'dinic' ? maxFlowDinic(pn.net) : maxFlowPushRelabel(pn.net);
  const solveMs = performance.now() - start;
  const recompute = new Uint8Array(h.groupNames.length);
  const rerun = new Uint8Array(h.cellCount);
  for (let g = 0; g < recompute.length; g++) {
    const node = pn.groupNode[g]!;
    recompute[g] = f.groupStatus[g] === GroupStatus.MustRecompute || (node !== -1 && cut.sourceSide[node] === 1) ? 1 : 0;
  }
  for (let c = 0; c < rerun.length; c++) {
    const node = pn.cellNode[c]!;
    rerun[c] = f.forced[c] === 1 || (node !== -1 && cut.sourceSide[node] === 1) ? 1 : 0;
  }
  return { recompute, rerun, network: { nodes: pn.net.nodeCount, edges: pn.edgeCount, cutValue: cut.value, solveMs } };
}

/** The least rerun set for a given set of recomputed groups (used for the minimum-checkpoint plan). */
export function decideByClosure(h: History, f: Feasibility, recompute: Uint8Array): Decision {
  const rerun = Uint8Array.from(f.forced);
  const stack: number[] = [];
  for (let g = 0; g < recompute.length; g++) {
    if (!recompute[g]) continue;
    for (let k = h.groupWriterStart[g]!; k < h.groupWriterStart[g + 1]!; k++) stack.push(h.groupWriter[k]!);
  }
  while (stack.length > 0) {
    const c = stack.pop()!;
    if (rerun[c]) continue;
    rerun[c] = 1;
    for (let k = h.prereqStart[c]!; k < h.prereqStart[c + 1]!; k++) stack.push(h.prereq[k]!);
  }
  return { recompute, rerun, network: { nodes: 0, edges: 0, cutValue: 0, solveMs: 0 } };
}

/** Objective value of a decision in capacity units (what the min-cut minimizes, constants included). */
export function decisionCost(d: Decision, caps: Capacities): number {
  let cost = 0;
  for (let g = 0; g < d.recompute.length; g++) cost += d.recompute[g] ? caps.groupRecompute[g]! : caps.group[g]!;
  for (let c = 0; c < d.rerun.length; c++) if (d.rerun[c]) cost += caps.cell[c]!;
  return cost;
}
