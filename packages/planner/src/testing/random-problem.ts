import type { CellExecution, Objective, PlanningProblem, VariableGroup } from '../problem.js';
import type { Rng } from './rng.js';

const NAMES = ['a', 'b', 'c', 'd', 'e', 'f'];
const OBJECTIVES: Objective[] = ['restore', 'migration', 'bytes'];

/**
 * A small random session covering the awkward cases: in-place mutation, rebinding, deletes (also
 * together with a write), reads of names that predate recording, names re-created outside the
 * history, failed / risky / unreplayable cells, unserializable and multi-name groups (a share
 * `groupedShare` of the groups have 2-3 names). Test support.
 */
export function randomProblem(rng: Rng, maxCells = 10, groupedShare = 0.4): PlanningProblem {
  const names = NAMES.slice(0, rng.int(2, NAMES.length));
  const cells: CellExecution[] = [];
  const last = new Map<string, 'write' | 'delete'>();
  for (let i = 0, n = rng.int(1, maxCells); i < n; i++) {
    const reads = names.filter(() => rng.chance(0.35));
    const writes = names.filter(() => rng.chance(0.3));
    for (const w of writes) if (!reads.includes(w) && rng.chance(0.4)) reads.push(w); // in-place modification
    const deletes = names.filter((x) => rng.chance(writes.includes(x) ? 0.03 : 0.07));
    for (const w of writes) last.set(w, 'write');
    for (const d of deletes) last.set(d, 'delete');
    cells.push({
      id: 100 + i * 3,
      runtimeMs: rng.chance(0.1) ? 0 : rng.int(1, 30),
      reads,
      writes,
      deletes,
      success: rng.chance(0.93),
      sideEffects: rng.chance(0.1),
      nondeterministic: rng.chance(0.08),
      ...(rng.chance(0.04) ? { replayable: false } : {}),
    });
  }
  const active = names.filter((x) => {
    const event = last.get(x);
    if (event === 'write') return true;
    return rng.chance(event === undefined ? 0.3 : 0.15);
  });
  for (let i = active.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [active[i], active[j]] = [active[j]!, active[i]!];
  }
  const groups: VariableGroup[] = [];
  while (active.length > 0) {
    const size = rng.chance(groupedShare) ? rng.int(2, 3) : 1;
    const members = active.splice(0, size);
    const measured = rng.chance(0.5);
    groups.push({
      id: `g${groups.length}`,
      names: members,
      serializable: rng.chance(0.8),
      ...(rng.chance(0.5) ? { reason: 'generator' } : {}),
      bytes: rng.int(0, 5_000_000),
      ...(measured ? { serializeMs: rng.int(0, 30), loadMs: rng.int(0, 30) } : {}),
    });
    // Verification costs without drawing from the generator, so the sessions stay those the tests were tuned on.
    const last = groups[groups.length - 1]!;
    if (measured) last.verifyMs = last.bytes % 13;
  }
  return {
    cells,
    groups,
    costs: {
      targetSpeedFactor: rng.pick([0.5, 1, 2]),
      store: {
        writeBytesPerSec: rng.pick([50e6, 200e6, 1e9]),
        readBytesPerSec: rng.pick([50e6, 200e6, 1e9]),
        latencyMs: rng.int(0, 3),
      },
      objective: rng.pick(OBJECTIVES),
    },
  };
}
