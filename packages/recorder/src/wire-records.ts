/** Normalizes the shim's msgpack cell records (see python-shim/PROTOCOL.md) into CellRecord. */
import type { CellRecord } from './cell-record.js';

type Raw = Record<string, unknown>;

const strings = (value: unknown): string[] => (Array.isArray(value) ? value.map(String) : []);

/** Effects and inputs may be strings or small objects; keep a readable line for each. */
const describe = (value: unknown): string[] =>
  Array.isArray(value)
    ? value.map((item) => (typeof item === 'string' ? item : JSON.stringify(item, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))))
    : [];

export function normalizeRecord(value: unknown): CellRecord {
  const raw = value as Raw;
  return {
    seq: Number(raw.seq),
    kind: raw.kind === 'outside' || raw.kind === 'load' ? raw.kind : 'cell',
    executionCount: raw.executionCount == null ? null : Number(raw.executionCount),
    cellId: raw.cellId == null ? null : String(raw.cellId),
    code: String(raw.code ?? ''),
    startedAt: Number(raw.startedAt ?? 0),
    runtimeMs: typeof raw.wallSec === 'number' ? raw.wallSec * 1000 : 0,
    recordingMs: typeof raw.overheadSec === 'number' ? raw.overheadSec * 1000 : 0,
    // Records of changes outside cells did not fail; a cell whose outcome is unknown counts as failed.
    success: raw.kind === 'cell' ? raw.success === true : true,
    reads: strings(raw.read),
    readsAll: raw.readsAll === true,
    created: strings(raw.created),
    modified: strings(raw.modified),
    deleted: strings(raw.deleted),
    sideEffects: describe(raw.sideEffects),
    filesRead: describe(raw.inputs),
    importOnly: raw.importOnly === true,
    nondeterministic: Boolean(raw.nondeterministic),
  };
}
