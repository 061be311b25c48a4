import { IntList } from './int-list.js';
import type { PlanningProblem } from './problem.js';

/** Version of a name that existed before recording began (written by the pseudo-writer). */
export const INITIAL = -1;
/** "No version": the name had been deleted. A read of it is ignored. */
export const ABSENT = -2;
/** Active version of a name that was re-created outside the recorded history (last event a delete). */
export const OUTSIDE = -3;

/**
 * The history compiled to flat integer arrays (names interned, versions resolved), so that the
 * planner's passes are linear and allocation-free even at 10^5 cell executions.
 *
 * Versions are writer cell *indices* (position in `problem.cells`), or INITIAL / ABSENT / OUTSIDE.
 * Per-cell lists are CSR: entries of cell i are `[start[i], start[i + 1])`.
 */
export interface History {
  cellCount: number;
  names: string[];
  /** Per cell: distinct names read and the version each read refers to. */
  readStart: Int32Array;
  readName: Int32Array;
  readVersion: Int32Array;
  /** Per cell: names whose new version the cell produced (net of deletes). */
  writeStart: Int32Array;
  writeName: Int32Array;
  /** Per cell: names the cell deleted. */
  deleteStart: Int32Array;
  deleteName: Int32Array;
  /** Per name: index of its group, or -1 if not active. */
  groupOfName: Int32Array;
  /** Per name: its active version (a cell index, INITIAL or OUTSIDE); ABSENT if not active. */
  activeVersion: Int32Array;
  /** Per group: its names, as name ids. */
  groupNames: Int32Array[];
  /**
   * Per cell: distinct writers (cell indices) of the non-active versions it reads. If the cell is
   * rerun they must be rerun before it. Always earlier cells.
   */
  prereqStart: Int32Array;
  prereq: Int32Array;
  /** Per cell: a name it reads at a non-active version nobody can reproduce (unknown provenance), or -1. */
  unknownRead: Int32Array;
  /** Per group: distinct active writers (cell indices) of its names. */
  groupWriterStart: Int32Array;
  groupWriter: Int32Array;
  /** Per group: a name of unknown provenance (active version INITIAL or OUTSIDE), or -1. */
  groupUnknownName: Int32Array;
}

/** Resolves every read to a version and derives the prerequisite relation. Linear in the history size. */
export function analyzeHistory(problem: PlanningProblem): History {
  // Upper bound on distinct names, so per-name arrays can be allocated once and names interned
  // in the same pass that resolves versions (one map lookup per occurrence).
  let bound = 0;
  for (const group of problem.groups) bound += group.names.length;
  for (const cell of problem.cells) bound += cell.reads.length + cell.writes.length + cell.deletes.length;
  const names: string[] = [];
  const index = new Map<string, number>();
  const intern = (name: string): number => {
    let id = index.get(name);
    if (id === undefined) {
      id = names.length;
      names.push(name);
      index.set(name, id);
    }
    return id;
  };
  for (const group of problem.groups) for (const name of group.names) intern(name);

  const cellCount = problem.cells.length;
  // current[n]: version of n at the current point of the replayed history.
  const current = new Int32Array(bound).fill(INITIAL);
  const stamp = new Int32Array(bound).fill(-1);
  const deleteMark = new Int32Array(bound).fill(-1);
  const readStart = new Int32Array(cellCount + 1);
  const writeStart = new Int32Array(cellCount + 1);
  const deleteStart = new Int32Array(cellCount + 1);
  const readName = new IntList();
  const readVersion = new IntList();
  const writeName = new IntList();
  const deleteName = new IntList();

  for (let i = 0; i < cellCount; i++) {
    const cell = problem.cells[i]!;
    readStart[i] = readName.length;
    for (const n of cell.reads) {
      const id = intern(n);
      if (stamp[id] === i) continue; // duplicate read
      stamp[id] = i;
      readName.push(id);
      readVersion.push(current[id]!);
    }
    deleteStart[i] = deleteName.length;
    for (const n of cell.deletes) {
      const id = intern(n);
      if (deleteMark[id] === i) continue; // duplicate delete
      deleteMark[id] = i;
      deleteName.push(id);
    }
    writeStart[i] = writeName.length;
    for (const n of cell.writes) {
      const id = intern(n);
      if (deleteMark[id] === i || stamp[id] === -2 - i) continue; // delete wins; duplicate write
      stamp[id] = -2 - i;
      writeName.push(id);
      current[id] = i;
    }
    for (let k = deleteStart[i]!; k < deleteName.length; k++) current[deleteName.data[k]!] = ABSENT;
  }
  readStart[cellCount] = readName.length;
  writeStart[cellCount] = writeName.length;
  deleteStart[cellCount] = deleteName.length;
  const nameCount = names.length;

  const groupOfName = new Int32Array(nameCount).fill(-1);
  const activeVersion = new Int32Array(nameCount).fill(ABSENT);
  const groupNames = problem.groups.map((group, g) => {
    const ids = new Int32Array(group.names.length);
    group.names.forEach((n, k) => {
      const id = index.get(n)!;
      ids[k] = id;
      groupOfName[id] = g;
      activeVersion[id] = current[id] === ABSENT ? OUTSIDE : current[id]!;
    });
    return ids;
  });

  const reads = { readStart, readName: readName.toArray(), readVersion: readVersion.toArray() };
  const prereqs = derivePrerequisites(cellCount, reads, activeVersion);
  const writers = deriveGroupWriters(groupNames, activeVersion, cellCount);
  return {
    cellCount,
    names,
    ...reads,
    writeStart,
    writeName: writeName.toArray(),
    deleteStart,
    deleteName: deleteName.toArray(),
    groupOfName,
    activeVersion,
    groupNames,
    ...prereqs,
    ...writers,
  };
}

function derivePrerequisites(
  cellCount: number,
  reads: { readStart: Int32Array; readName: Int32Array; readVersion: Int32Array },
  activeVersion: Int32Array,
): { prereqStart: Int32Array; prereq: Int32Array; unknownRead: Int32Array } {
  const prereqStart = new Int32Array(cellCount + 1);
  const prereq = new IntList();
  const unknownRead = new Int32Array(cellCount).fill(-1);
  const seen = new Int32Array(cellCount).fill(-1);
  for (let c = 0; c < cellCount; c++) {
    prereqStart[c] = prereq.length;
    for (let k = reads.readStart[c]!; k < reads.readStart[c + 1]!; k++) {
      const name = reads.readName[k]!;
      const version = reads.readVersion[k]!;
      // An active version is available either way: from its serialized group, or from its
      // writer, which recomputing the group reruns anyway. So it imposes no constraint.
      if (version === ABSENT || version === activeVersion[name]) continue;
      if (version === INITIAL) {
        if (unknownRead[c] === -1) unknownRead[c] = name;
      } else if (seen[version] !== c) {
        seen[version] = c;
        prereq.push(version);
      }
    }
  }
  prereqStart[cellCount] = prereq.length;
  return { prereqStart, prereq: prereq.toArray(), unknownRead };
}

function deriveGroupWriters(
  groupNames: Int32Array[],
  activeVersion: Int32Array,
  cellCount: number,
): { groupWriterStart: Int32Array; groupWriter: Int32Array; groupUnknownName: Int32Array } {
  const groupWriterStart = new Int32Array(groupNames.length + 1);
  const groupWriter = new IntList();
  const groupUnknownName = new Int32Array(groupNames.length).fill(-1);
  const seen = new Int32Array(cellCount).fill(-1);
  groupNames.forEach((ids, g) => {
    groupWriterStart[g] = groupWriter.length;
    for (const id of ids) {
      const version = activeVersion[id]!;
      if (version < 0) {
        if (groupUnknownName[g] === -1) groupUnknownName[g] = id;
      } else if (seen[version] !== g) {
        seen[version] = g;
        groupWriter.push(version);
      }
    }
  });
  groupWriterStart[groupNames.length] = groupWriter.length;
  return { groupWriterStart, groupWriter: groupWriter.toArray(), groupUnknownName };
}
