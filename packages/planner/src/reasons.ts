import type { PlanningContext } from './context.js';
import type { Decision } from './decide.js';
import { Block, describeBlock, GroupStatus } from './feasibility.js';
import { formatBytes, formatCells, formatMs } from './format.js';
import { INITIAL } from './history.js';
import type { Objective } from './problem.js';

/** Closures are explored up to this many cells per group: reasons stay cheap at 10^5 cells. */
const CLOSURE_LIMIT = 32;

export interface Reasons {
  /** Per group: why it is serialized or recomputed, one line, no decision prefix. */
  group: string[];
  warnings: string[];
}

interface Closure {
  cells: number[];
  ms: number;
  truncated: boolean;
}

export function explainDecision(ctx: PlanningContext, d: Decision, objective: Objective): Reasons {
  const { problem, history: h, feasibility: f } = ctx;
  const cellId = (c: number): number => problem.cells[c]!.id;
  const stamp = new Int32Array(h.cellCount).fill(-1);
  const stack = new Int32Array(h.cellCount);
  const blocked = new Map<number, string>();

  /**
   * Cells reachable from g's writers through prerequisites, among cells with rerun[c] === side.
   * Stops early (truncated) after CLOSURE_LIMIT cells or once their time exceeds `enough`.
   */
  const closure = (g: number, side: 0 | 1, enough = Number.POSITIVE_INFINITY): Closure => {
    const cells: number[] = [];
    let ms = 0;
    let top = 0;
    for (let k = h.groupWriterStart[g]!; k < h.groupWriterStart[g + 1]!; k++) {
      const w = h.groupWriter[k]!;
      if (stamp[w] !== g && d.rerun[w] === side) {
        stamp[w] = g;
        stack[top++] = w;
      }
    }
    while (top > 0) {
      if (cells.length === CLOSURE_LIMIT || ms > enough) return { cells, ms, truncated: true };
      const c = stack[--top]!;
      cells.push(c);
      ms += ctx.costs.rerunMs[c]!;
      for (let k = h.prereqStart[c]!; k < h.prereqStart[c + 1]!; k++) {
        const p = h.prereq[k]!;
        if (stamp[p] !== g && d.rerun[p] === side) {
          stamp[p] = g;
          stack[top++] = p;
        }
      }
    }
    return { cells: cells.sort((a, b) => a - b), ms, truncated: false };
  };

  const cellsText = (cells: number[], truncated: boolean): string =>
    truncated ? `at least ${cells.length} cells` : formatCells(cells.map(cellId));
  const msText = (ms: number, truncated: boolean): string => `${truncated ? '≥ ' : ''}${formatMs(ms)}`;

  /** What keeping (serializing) group g costs under the objective, in ms (null for bytes). */
  const keepMs = (g: number): number | null => {
    const { checkpointMs, loadMs } = ctx.costs;
    if (objective === 'migration') return checkpointMs[g]! + loadMs[g]!;
    return objective === 'restore' ? loadMs[g]! : null;
  };
  const keepCost = (g: number): string => {
    if (objective === 'bytes') return `storing ${formatBytes(ctx.costs.bytes[g]!)}`;
    return `${objective === 'migration' ? 'checkpoint + load' : 'load'} ${formatMs(keepMs(g)!)}`;
  };

  const reasons = problem.groups.map((group, g) => {
    const status = f.groupStatus[g];
    if (status === GroupStatus.MustRecompute) {
      const { cells, ms, truncated } = closure(g, 1);
      const why = group.reason ? `unserializable (${group.reason})` : 'unserializable';
      return `${why}; rerun ${cellsText(cells, truncated)} (${msText(ms, truncated)})`;
    }
    if (status === GroupStatus.MustSerialize) {
      const unknown = h.groupUnknownName[g]!;
      if (unknown !== -1) {
        return h.activeVersion[unknown] === INITIAL
          ? `${h.names[unknown]} has unknown provenance (it existed before recording began)`
          : `${h.names[unknown]} was re-created outside the recorded history`;
      }
      const writer = f.groupBlockedWriter[g]!;
      let why = blocked.get(writer);
      if (why === undefined && f.block[writer] === Block.None && f.tainted[writer]) {
        why =
          `cannot be recomputed: cell ${problem.cells[writer]!.id} is rerun for an unserializable variable but its values ` +
          'would come back different (nondeterministic); saved and loaded after the rerun';
        blocked.set(writer, why);
      }
      if (why === undefined) {
        why = `cannot be recomputed: ${describeBlock(problem, h, f.block, f.blockVia, writer)}`;
        blocked.set(writer, why);
      }
      return why;
    }
    const verify = ctx.costs.verifyMs[g]!;
    const verifyText = objective !== 'bytes' && verify > 0 ? ` and verifying it (${formatMs(verify)})` : '';
    if (d.recompute[g]) {
      const { cells, ms, truncated } = closure(g, 1);
      // The cut pays each rerun once for all the variables that need it, so a group's own closure
      // may cost more than keeping it; say so rather than print a comparison that looks wrong.
      const keep = keepMs(g);
      const shared = keep !== null && ms + verify > keep ? ', shared with other recomputed variables' : '';
      return `rerun ${cellsText(cells, truncated)} (${msText(ms, truncated)}${shared})${verifyText} beats ${keepCost(g)}`;
    }
    // Enough to show that keeping it is cheaper; the full closure can be most of the history.
    const { cells, ms, truncated } = closure(g, 0, keepMs(g) ?? Number.POSITIVE_INFINITY);
    const rerun = cells.length === 0 ? 'rerunning nothing' : `rerunning ${cellsText(cells, truncated)}`;
    return `${keepCost(g)} beats ${rerun} (${msText(ms, truncated)} more)${verifyText}`;
  });

  const warnings: string[] = [];
  for (let c = 0; c < h.cellCount; c++) {
    const cell = problem.cells[c]!;
    if (!d.rerun[c] || !(cell.sideEffects || cell.nondeterministic)) continue;
    const risk = cell.sideEffects ? 'has side effects' : 'is nondeterministic';
    const group = problem.groups[f.forcedBy[c]!]!;
    warnings.push(
      `cell ${cell.id} ${risk} but is rerun: nothing else can reproduce ${group.names.join(', ')} (unserializable)`,
    );
  }
  return { group: reasons, warnings };
}
