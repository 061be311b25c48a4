import { NoValidPlanError, type UnplannableVariable } from './errors.js';
import { INITIAL, type History } from './history.js';
import type { PlanningProblem } from './problem.js';

/** Why a cell may not be rerun. The first four are hard; the last two are avoided unless forced. */
export const Block = {
  None: 0,
  Failed: 1,
  Unreplayable: 2,
  UnknownRead: 3,
  ViaPrerequisite: 4,
  SideEffects: 5,
  Nondeterministic: 6,
} as const;
export type Block = (typeof Block)[keyof typeof Block];

/** What the constraints alone decide for a group, before costs are considered. */
export const GroupStatus = {
  /** The optimizer chooses. */
  Free: 0,
  /** Unserializable: recomputed whatever it costs. */
  MustRecompute: 1,
  /** Unknown provenance, or a needed cell cannot (or should not) be rerun. */
  MustSerialize: 2,
} as const;
export type GroupStatus = (typeof GroupStatus)[keyof typeof GroupStatus];

/**
 * The constraint pass. Prerequisites always point to earlier cells, so "blocked" propagates in one
 * forward pass. Cells needed by unserializable groups are `forced`: every valid plan reruns them,
 * which is why a risky (side-effect / nondeterministic) cell among them is allowed, and every
 * other risky cell is blocked: that is exactly "not rerun unless nothing else can reproduce a
 * needed variable", with no penalty weights to tune.
 */
export interface Feasibility {
  block: Uint8Array;
  /** For Block.ViaPrerequisite: the blocked prerequisite (cell index). */
  blockVia: Int32Array;
  forced: Uint8Array;
  /** For forced cells: an unserializable group that needs it (for explanations). */
  forcedBy: Int32Array;
  groupStatus: Uint8Array;
  /** For MustSerialize groups without unknown names: a blocked (or tainted) active writer (cell index). */
  groupBlockedWriter: Int32Array;
  /**
   * Cells whose rerun cannot reproduce their values: forced nondeterministic cells, and cells that
   * read a non-active version one of them produced. What they write is saved (loaded after the
   * rerun), and no cell outside the forced set is rerun on top of them, so a restore never mixes
   * an old value with new ones computed from a different draw.
   */
  tainted: Uint8Array;
}

export function analyzeFeasibility(problem: PlanningProblem, h: History): Feasibility {
  const n = h.cellCount;
  const block = new Uint8Array(n);
  const blockVia = new Int32Array(n).fill(-1);
  propagateBlocks(problem, h, block, blockVia, null);
  throwIfUnplannable(problem, h, block, blockVia);

  const forced = new Uint8Array(n);
  const forcedBy = new Int32Array(n).fill(-1);
  const stack: number[] = [];
  problem.groups.forEach((group, g) => {
    if (group.serializable) return;
    for (let k = h.groupWriterStart[g]!; k < h.groupWriterStart[g + 1]!; k++) stack.push(h.groupWriter[k]!);
    while (stack.length > 0) {
      const c = stack.pop()!;
      if (forced[c]) continue;
      forced[c] = 1;
      forcedBy[c] = g;
      for (let k = h.prereqStart[c]!; k < h.prereqStart[c + 1]!; k++) stack.push(h.prereq[k]!);
    }
  });

  block.fill(Block.None);
  blockVia.fill(-1);
  const tainted = new Uint8Array(n);
  propagateBlocks(problem, h, block, blockVia, forced, tainted);

  const groupStatus = new Uint8Array(problem.groups.length);
  const groupBlockedWriter = new Int32Array(problem.groups.length).fill(-1);
  problem.groups.forEach((group, g) => {
    if (!group.serializable) {
      groupStatus[g] = GroupStatus.MustRecompute;
      return;
    }
    if (h.groupUnknownName[g] !== -1) {
      groupStatus[g] = GroupStatus.MustSerialize;
      return;
    }
    for (let k = h.groupWriterStart[g]!; k < h.groupWriterStart[g + 1]!; k++) {
      const w = h.groupWriter[k]!;
      if (block[w] !== Block.None || tainted[w]) {
        groupStatus[g] = GroupStatus.MustSerialize;
        groupBlockedWriter[g] = w;
        return;
      }
    }
  });
  return { block, blockVia, forced, forcedBy, groupStatus, groupBlockedWriter, tainted };
}

/**
 * Hard blocks always; with `forced` given, also risky cells outside the forced set, and cells
 * outside it that would compute from a forced nondeterministic rerun (marked in `tainted`).
 */
function propagateBlocks(
  problem: PlanningProblem,
  h: History,
  block: Uint8Array,
  blockVia: Int32Array,
  forced: Uint8Array | null,
  tainted?: Uint8Array,
): void {
  problem.cells.forEach((cell, c) => {
    if (!cell.success) block[c] = Block.Failed;
    else if (cell.replayable === false) block[c] = Block.Unreplayable;
    else if (h.unknownRead[c] !== -1) block[c] = Block.UnknownRead;
    else {
      let taintedInput = -1;
      for (let k = h.prereqStart[c]!; k < h.prereqStart[c + 1]!; k++) {
        const p = h.prereq[k]!;
        if (block[p] !== Block.None) {
          block[c] = Block.ViaPrerequisite;
          blockVia[c] = p;
          return;
        }
        if (tainted?.[p]) taintedInput = p;
      }
      if (forced === null) return;
      if (tainted && ((forced[c] && cell.nondeterministic) || taintedInput !== -1)) tainted[c] = 1;
      if (forced[c]) return;
      if (cell.sideEffects) block[c] = Block.SideEffects;
      else if (cell.nondeterministic) block[c] = Block.Nondeterministic;
      else if (taintedInput !== -1) {
        block[c] = Block.ViaPrerequisite;
        blockVia[c] = taintedInput;
      }
    }
  });
}

function throwIfUnplannable(problem: PlanningProblem, h: History, block: Uint8Array, blockVia: Int32Array): void {
  const bad: UnplannableVariable[] = [];
  problem.groups.forEach((group, g) => {
    if (group.serializable) return;
    const why = group.reason ? `unserializable (${group.reason})` : 'unserializable';
    for (const id of h.groupNames[g]!) {
      const name = h.names[id]!;
      const version = h.activeVersion[id]!;
      if (version === INITIAL) {
        bad.push({ name, group: group.id, reason: `${why} and existed before recording began (unknown provenance)` });
      } else if (version < 0) {
        bad.push({ name, group: group.id, reason: `${why} and was re-created outside the recorded history` });
      } else if (block[version] !== Block.None) {
        bad.push({
          name,
          group: group.id,
          reason: `${why}, and its producing ${describeBlock(problem, h, block, blockVia, version)}`,
        });
      }
    }
  });
  if (bad.length > 0) throw new NoValidPlanError(bad);
}

/** One line on why cell `c` cannot be rerun, following the prerequisite chain a few hops. */
export function describeBlock(
  problem: PlanningProblem,
  h: History,
  block: Uint8Array,
  blockVia: Int32Array,
  c: number,
): string {
  const parts: string[] = [];
  for (let hop = 0; hop < 4; hop++) {
    const id = problem.cells[c]!.id;
    switch (block[c] as Block) {
      case Block.Failed:
        return [...parts, `cell ${id} failed`].join(', ');
      case Block.Unreplayable:
        return [...parts, `cell ${id} cannot be replayed`].join(', ');
      case Block.UnknownRead:
        return [...parts, `cell ${id} reads ${h.names[h.unknownRead[c]!]} as it was before recording began`].join(', ');
      case Block.SideEffects:
        return [...parts, `cell ${id} has side effects`].join(', ');
      case Block.Nondeterministic:
        return [...parts, `cell ${id} is nondeterministic`].join(', ');
      case Block.None:
        if (problem.cells[c]!.nondeterministic) return [...parts, `cell ${id} is nondeterministic (rerun only for an unserializable variable)`].join(', ');
        return [...parts, `cell ${id} can be rerun`].join(', ');
      case Block.ViaPrerequisite: {
        const p = blockVia[c]!;
        parts.push(`cell ${id} needs ${linkingName(h, c, p)} from cell ${problem.cells[p]!.id}`);
        c = p;
      }
    }
  }
  return [...parts, '…'].join(', ');
}

/** A name through which cell c reads the version written by cell p. */
function linkingName(h: History, c: number, p: number): string {
  for (let k = h.readStart[c]!; k < h.readStart[c + 1]!; k++) {
    if (h.readVersion[k] === p) return h.names[h.readName[k]!]!;
  }
  return '?';
}
