import type { Decision } from './decide.js';
import { ABSENT, type History } from './history.js';

/**
 * One step of the restore program, in terms of indices (plan.ts turns them into ids and names).
 * A load deserializes the group's record and binds `names` (all of them, or the subset that is
 * safe to bind at that point).
 */
export type IndexedStep = { kind: 'load'; group: number; names: number[] } | { kind: 'run'; cell: number };

export interface IndexedProgram {
  steps: IndexedStep[];
  /** Per group: how many times its record is loaded (1 for every serialized group, more if reruns clobber it). */
  loads: Int32Array;
  /** Names that reruns leave bound but that were not live at checkpoint (the restorer deletes them). */
  strayNames: number[];
}

/**
 * Orders loads and reruns so that every rerun sees the versions it originally read, and every
 * active variable ends with its active version.
 *
 * Reruns go in session order. Before each rerun, any input it reads at its *active* version that
 * is not currently bound comes from a just-in-time load of its serialized group (a rerun input at
 * a non-active version was produced by an earlier rerun; the min-cut constraints guarantee its
 * writer is rerun). A load binds every name of the group that is safe to overwrite: names whose
 * next use by a rerun is not a read of an older version still needed. Binding everything that is
 * safe makes each load serve as many later needs as possible; just-in-time placement keeps the
 * safe set largest. At the end, every serialized group whose last load was partial or was clobbered
 * by a later rerun is loaded once more, in full, so shared references within the group are intact.
 * Groups no rerun touches are loaded last, after every rerun: unpickling one may need what a
 * rerun binds (a module a class's `__setstate__` calls, imported by a cell that is rerun).
 *
 * Gap with respect to the min-cut objective: the min-cut charges one load per serialized group.
 * When reruns clobber a group (they rebind names of it that an earlier rerun needed loaded), the
 * program loads it again; those extra loads are counted in the predicted restore time but not
 * optimized jointly with the cut (they are rare: they need a group that a rerun both reads and
 * rebinds).
 */
/** State of a name whose rerun value is not the original (a tainted cell wrote it): load it before use. */
const NOT_REPRODUCED = -4;

export function buildRestoreProgram(h: History, d: Decision, tainted?: Uint8Array): IndexedProgram {
  const nameCount = h.names.length;
  const groupCount = h.groupNames.length;
  const order: number[] = [];
  for (let c = 0; c < h.cellCount; c++) if (d.rerun[c]) order.push(c);

  const events = nameEvents(h, order);
  const cursor = events.start.slice(0, nameCount);
  /** True when the next rerun event on `name` at or after position p is not a read of an older version. */
  const safe = (name: number, p: number): boolean => {
    let k = cursor[name]!;
    const end = events.start[name + 1]!;
    while (k < end && events.position[k]! < p) k++;
    cursor[name] = k;
    return k === end || events.unsafe[k] === 0;
  };

  const state = new Int32Array(nameCount).fill(ABSENT);
  const intact = new Uint8Array(groupCount);
  const loads = new Int32Array(groupCount);
  const steps: IndexedStep[] = [];
  const serialized = (g: number): boolean => g >= 0 && d.recompute[g] === 0;
  const load = (g: number, names: number[]): void => {
    for (const n of names) state[n] = h.activeVersion[n]!;
    intact[g] = names.length === h.groupNames[g]!.length ? 1 : 0;
    loads[g]!++;
    steps.push({ kind: 'load', group: g, names });
  };

  const pending: number[] = [];
  order.forEach((c, p) => {
    pending.length = 0;
    for (let k = h.readStart[c]!; k < h.readStart[c + 1]!; k++) {
      const name = h.readName[k]!;
      const version = h.readVersion[k]!;
      if (version === ABSENT || state[name] === version) continue;
      const g = h.groupOfName[name]!;
      if (!serialized(g) || h.activeVersion[name] !== version) {
        throw new Error(`internal: cell index ${c} needs ${h.names[name]} at a version the plan does not provide`);
      }
      if (!pending.includes(g)) pending.push(g);
    }
    for (const g of pending) load(g, [...h.groupNames[g]!].filter((name) => safe(name, p)));
    steps.push({ kind: 'run', cell: c });
    for (let k = h.writeStart[c]!; k < h.writeStart[c + 1]!; k++) {
      const name = h.writeName[k]!;
      const g = h.groupOfName[name]!;
      // A nondeterministic rerun's values differ from the saved ones: a later rerun that reads
      // them gets the saved version loaded first, never the new draw.
      state[name] = tainted?.[c] && serialized(g) && h.activeVersion[name] === c ? NOT_REPRODUCED : c;
      if (g >= 0) intact[g] = 0;
    }
    for (let k = h.deleteStart[c]!; k < h.deleteStart[c + 1]!; k++) {
      const name = h.deleteName[k]!;
      state[name] = ABSENT;
      if (h.groupOfName[name]! >= 0) intact[h.groupOfName[name]!] = 0;
    }
  });
  for (let g = 0; g < groupCount; g++) if (serialized(g) && !intact[g]) load(g, [...h.groupNames[g]!]);

  const strayNames: number[] = [];
  for (let n = 0; n < nameCount; n++) {
    if (h.groupOfName[n]! < 0) {
      if (state[n] !== ABSENT) strayNames.push(n);
    } else if (state[n] !== h.activeVersion[n]) {
      throw new Error(`internal: ${h.names[n]} does not end at its active version`);
    }
  }
  return { steps, loads, strayNames };
}

/**
 * Per name, the positions (in rerun order) of the reruns that read or write it; `unsafe` marks a
 * read of a non-active version, i.e. a binding that a load must not overwrite.
 */
function nameEvents(h: History, order: number[]): { start: Int32Array; position: Int32Array; unsafe: Uint8Array } {
  const nameCount = h.names.length;
  const count = new Int32Array(nameCount + 1);
  const each = (c: number, visit: (name: number, unsafe: boolean) => void): void => {
    for (let k = h.readStart[c]!; k < h.readStart[c + 1]!; k++) {
      const name = h.readName[k]!;
      const version = h.readVersion[k]!;
      visit(name, version !== ABSENT && version !== h.activeVersion[name]);
    }
    for (let k = h.writeStart[c]!; k < h.writeStart[c + 1]!; k++) visit(h.writeName[k]!, false);
    for (let k = h.deleteStart[c]!; k < h.deleteStart[c + 1]!; k++) visit(h.deleteName[k]!, false);
  };
  for (const c of order) each(c, (name) => count[name + 1]!++);
  for (let n = 0; n < nameCount; n++) count[n + 1]! += count[n]!;
  const fill = count.slice(0, nameCount);
  const position = new Int32Array(count[nameCount]!);
  const unsafe = new Uint8Array(count[nameCount]!);
  order.forEach((c, p) => {
    each(c, (name, isUnsafe) => {
      const k = fill[name]!++;
      position[k] = p;
      unsafe[k] = isUnsafe ? 1 : 0;
    });
  });
  return { start: count, position, unsafe };
}
