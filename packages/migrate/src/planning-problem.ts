/**
 * Maps what the recorder and the shim know onto the planner's input: the history's records become
 * cell executions, the measured shared-reference groups become variable groups.
 */
import type { CellExecution, CostSettings, PlanningProblem, VariableGroup } from '@nbferry/planner';
import { priorReads, type CellRecord } from '@nbferry/recorder';
import type { MeasuredGroup, MeasuredVariable, PickleCost } from './shim-api.js';

/**
 * What rerunning an import-only cell costs in a target that has imported the source's packages
 * (prepareTarget does it during the checkpoint). Without warming it would cost its source time,
 * but so would loading any pickled object of those packages: either way it is the same for every
 * plan, so it must not steer the choice between them.
 */
const IMPORT_RERUN_MS = 20;

export function plannerCells(records: readonly CellRecord[]): CellExecution[] {
  const written = new Set<string>();
  const changedFiles = filesChangedByCells(records);
  return records.map((r) => {
    const writes = [...new Set([...r.created, ...r.modified])];
    // A cell that may have read anything (eval, exec, globals()) reads every name that existed.
    const reads = r.readsAll ? [...new Set([...written, ...r.reads, ...r.modified])] : priorReads(r);
    for (const name of writes) written.add(name);
    if (r.kind !== 'cell') {
      // Changes made outside cells (a silent execute, a load from a checkpoint) cannot be replayed.
      return {
        id: r.seq,
        runtimeMs: 0,
        reads: [],
        writes,
        deletes: [...r.deleted],
        success: true,
        sideEffects: false,
        nondeterministic: false,
        replayable: false,
        label: `(${r.kind === 'load' ? 'loaded from a checkpoint' : 'changed outside any cell'})`,
      };
    }
    return {
      id: r.seq,
      // The target records a rerun as the source recorded the cell: its hooks cost about as much
      // again, with its check after the reply, which the next rerun (or the verification) waits for.
      runtimeMs: r.importOnly ? Math.min(r.runtimeMs, IMPORT_RERUN_MS) : r.runtimeMs + (r.rerunHooksMs ?? r.recordingMs),
      reads,
      writes,
      deletes: [...r.deleted],
      success: r.success,
      sideEffects: r.sideEffects.length > 0,
      // A cell that read a file the session's own cells write or remove (a log it appends to, a
      // CSV it rewrites) would read other content when rerun at restore: its outputs are saved
      // rather than recomputed, as for an unseeded draw.
      nondeterministic: r.nondeterministic || filePaths(r.filesRead, 'path').some((path) => changedFiles.has(path)),
      label: `[${r.executionCount ?? '?'}] ${firstLine(r.code)}`,
    };
  });
}

/** Paths that some recorded cell wrote or removed (its side effects). */
function filesChangedByCells(records: readonly CellRecord[]): Set<string> {
  const changed = new Set<string>();
  for (const r of records) {
    for (const effect of r.sideEffects) {
      const parsed = parseJson(effect);
      if ((parsed?.kind === 'file-write' || parsed?.kind === 'file-remove') && typeof parsed.detail === 'string') changed.add(parsed.detail);
    }
  }
  return changed;
}

/** The `key` field of each JSON-encoded file entry (CellRecord.filesRead: {path, kind, size, mtimeNs}). */
function filePaths(entries: readonly string[], key: string): string[] {
  return entries.flatMap((entry) => {
    const value = parseJson(entry)?.[key];
    return typeof value === 'string' ? [value] : [];
  });
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export function groupId(group: MeasuredGroup): string {
  return `g${group.id}`;
}

/** The planner group of the members of an unserializable group that pickle on their own. */
export function saveableId(group: MeasuredGroup): string {
  return `${groupId(group)}-saveable`;
}

/**
 * Planner groups: one per measured group, or two halves where part of it can be saved (splitOf).
 * With `variables`, each group is charged what fingerprinting its values took in the source: the
 * restore verifies a recomputed group that way (an intact load is proven by its checksum).
 */
export function plannerGroups(groups: readonly MeasuredGroup[], variables?: Readonly<Record<string, MeasuredVariable>>): VariableGroup[] {
  const verify = (names: readonly string[]): Pick<VariableGroup, 'verifyMs'> => {
    if (!variables) return {};
    let sec = 0;
    for (const name of names) {
      const v = variables[name];
      if (v?.fingerprint != null) sec += v.fingerprintSec ?? 0;
    }
    return { verifyMs: sec * 1000 };
  };
  return groups.flatMap((g): VariableGroup[] => {
    if (g.serializable) return [{ id: groupId(g), names: g.names, ...pickleCost(g), ...verify(g.names), serializable: true }];
    const saveable = g.saveable;
    const whole: VariableGroup = { id: groupId(g), names: g.names, serializable: false, reason: g.reason, bytes: 0, ...verify(g.names) };
    if (!saveable || saveable.names.length === 0 || saveable.names.length >= g.names.length) return [whole];
    const rest = g.names.filter((name) => !saveable.names.includes(name));
    return [
      { ...whole, names: rest, splitOf: groupId(g), ...verify(rest) },
      { id: saveableId(g), names: saveable.names, ...pickleCost(saveable), ...verify(saveable.names), serializable: true, splitOf: groupId(g) },
    ];
  });
}

function pickleCost(cost: PickleCost): Pick<VariableGroup, 'bytes' | 'serializeMs' | 'loadMs'> {
  return { bytes: cost.bytes, serializeMs: cost.dumpSec * 1000, loadMs: cost.loadSecEst * 1000 };
}

export const DEFAULT_COSTS: CostSettings = {
  targetSpeedFactor: 1,
  // A local SSD; callers with a slower store (network disk, object store) should say so.
  store: { writeBytesPerSec: 800e6, readBytesPerSec: 1500e6, latencyMs: 1 },
  objective: 'migration',
};

export function planningProblem(
  records: readonly CellRecord[],
  groups: readonly MeasuredGroup[],
  costs: Partial<CostSettings> = {},
  variables?: Readonly<Record<string, MeasuredVariable>>,
): PlanningProblem {
  return {
    cells: plannerCells(records),
    groups: plannerGroups(groups, variables),
    costs: { ...DEFAULT_COSTS, ...costs, store: { ...DEFAULT_COSTS.store, ...costs.store } },
  };
}

function firstLine(code: string): string {
  const line = code.split('\n').find((l) => l.trim() !== '') ?? '';
  return line.length > 50 ? `${line.slice(0, 47)}...` : line;
}
