import type { Capacities } from './cost-model.js';
import { Block, GroupStatus, type Feasibility } from './feasibility.js';
import { FlowNetworkBuilder, type FlowNetwork } from './flow-network.js';
import type { History } from './history.js';

export const SOURCE = 0;
export const SINK = 1;

/**
 * The project-selection network, oriented so that the source side is "recompute / rerun":
 *
 * - source → free group g, capacity = cost of serializing g (cut when g is serialized);
 * - free group g → sink, capacity = cost of verifying g once recomputed (cut when g is recomputed);
 * - free cell c → sink, capacity = cost of rerunning c (cut when c is rerun);
 * - g → w with capacity BIG for each active writer w of g (recomputing g reruns w);
 * - c → p with capacity BIG for each prerequisite p of c (rerunning c reruns p first).
 *
 * These cell → prerequisite-cell edges keep the network linear in the history (ElasticNotebook
 * adds an edge from each variable to every cell of its closure, quadratic in the worst case).
 * Only "free" nodes are included: forced cells (needed by unserializable groups) are already paid
 * for, blocked cells and must-serialize groups are fixed on the other side, and cells that no free
 * group can need are dropped. BIG is the sum of the finite capacities + 1, so cutting it is never
 * optimal while a finite cut exists (and one always does: serialize every free group).
 *
 * The canonical cut (source side = residual-reachable set) is the minimal source side, so among
 * equally cheap plans the one that recomputes least wins. This orientation also gives every cell
 * its own sink arc, so flow is absorbed close to where it enters: on the benchmark sessions
 * push-relabel is an order of magnitude faster on it than on the reverse orientation.
 */
export interface PlanningNetwork {
  net: FlowNetwork;
  /** Node of each group, or -1 if the group is not free. */
  groupNode: Int32Array;
  /** Node of each cell, or -1 if the cell is not in the network. */
  cellNode: Int32Array;
  /** Undirected edges, reverse arcs excluded. */
  edgeCount: number;
}

export function buildNetwork(h: History, f: Feasibility, caps: Capacities): PlanningNetwork {
  const groupCount = h.groupNames.length;
  const groupNode = new Int32Array(groupCount).fill(-1);
  const cellNode = new Int32Array(h.cellCount).fill(-1);
  let nodes = 2;
  const cells: number[] = [];
  const visit = (c: number): void => {
    if (cellNode[c] !== -1 || f.forced[c]) return;
    cellNode[c] = nodes++;
    cells.push(c);
  };
  for (let g = 0; g < groupCount; g++) {
    if (f.groupStatus[g] !== GroupStatus.Free) continue;
    groupNode[g] = nodes++;
    for (let k = h.groupWriterStart[g]!; k < h.groupWriterStart[g + 1]!; k++) visit(h.groupWriter[k]!);
  }
  for (let i = 0; i < cells.length; i++) {
    const c = cells[i]!;
    if (f.block[c] !== Block.None) throw new Error(`internal: blocked cell ${c} reached from a free group`);
    for (let k = h.prereqStart[c]!; k < h.prereqStart[c + 1]!; k++) visit(h.prereq[k]!);
  }

  let finite = 0;
  for (let g = 0; g < groupCount; g++) if (groupNode[g] !== -1) finite += caps.group[g]! + caps.groupRecompute[g]!;
  for (const c of cells) finite += caps.cell[c]!;
  const big = finite + 1;

  const b = new FlowNetworkBuilder(nodes, SOURCE, SINK);
  for (let g = 0; g < groupCount; g++) {
    const node = groupNode[g]!;
    if (node === -1) continue;
    if (caps.group[g]! > 0) b.addEdge(SOURCE, node, caps.group[g]!);
    if (caps.groupRecompute[g]! > 0) b.addEdge(node, SINK, caps.groupRecompute[g]!);
    for (let k = h.groupWriterStart[g]!; k < h.groupWriterStart[g + 1]!; k++) {
      const w = cellNode[h.groupWriter[k]!]!;
      if (w !== -1) b.addEdge(node, w, big);
    }
  }
  for (const c of cells) {
    const node = cellNode[c]!;
    if (caps.cell[c]! > 0) b.addEdge(node, SINK, caps.cell[c]!);
    for (let k = h.prereqStart[c]!; k < h.prereqStart[c + 1]!; k++) {
      const p = cellNode[h.prereq[k]!]!;
      if (p !== -1) b.addEdge(node, p, big);
    }
  }
  return { net: b.build(), groupNode, cellNode, edgeCount: b.edgeCount };
}
