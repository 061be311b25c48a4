/**
 * Normalizes the shim's msgpack cell records (see python-shim/PROTOCOL.md) into CellRecord.
 * A record is checked, never coerced blindly: what arrives over the comm is decoded msgpack, so a
 * field can be any map, array, bytes or bigint. A record that cannot be one throws
 * MalformedRecordError; optional fields of the wrong type read as absent.
 */
import type { CellRecord } from './cell-record.js';
import { MalformedRecordError } from './errors.js';

type Raw = Record<string, unknown>;

const isRaw = (value: unknown): value is Raw => typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);

/** A finite number (bigints that fit included), else undefined. */
function num(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : undefined;
  return undefined;
}

/** Seconds to milliseconds; a duration that is not a finite number of seconds reads as 0. */
function ms(value: unknown): number {
  const sec = num(value);
  return sec === undefined || !Number.isFinite(sec * 1000) ? 0 : sec * 1000;
}

const names = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);

/** Effects and inputs may be strings or small objects; keep a readable line for each. */
function describe(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  return value.map((item) => {
    if (typeof item === 'string') return item;
    try {
      return JSON.stringify(item, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? String(typeof item);
    } catch {
      return '(unreadable)'; // nesting too deep to print: keep that there was one
    }
  });
}

/** A short, never-throwing description of a decoded value for error messages. */
function show(value: unknown): string {
  if (value === null || value === undefined) return 'nil';
  if (['number', 'bigint', 'boolean'].includes(typeof value)) return String(value as number);
  if (typeof value === 'string') return JSON.stringify(value.slice(0, 40));
  if (Array.isArray(value)) return 'an array';
  return value instanceof Uint8Array ? 'bytes' : 'a map';
}

export function normalizeRecord(value: unknown): CellRecord {
  if (!isRaw(value)) throw new MalformedRecordError(`a record must be a map, got ${show(value)}`);
  const raw = value;
  const seq = num(raw.seq);
  if (seq === undefined || !Number.isInteger(seq) || seq < 1) {
    throw new MalformedRecordError(`a record's seq must be an integer from 1, got ${show(raw.seq)}`);
  }
  const executionCount = num(raw.executionCount);
  return {
    seq,
    kind: raw.kind === 'outside' || raw.kind === 'load' ? raw.kind : 'cell',
    executionCount: executionCount ?? null,
    cellId: typeof raw.cellId === 'string' ? raw.cellId : null,
    code: typeof raw.code === 'string' ? raw.code : '',
    startedAt: num(raw.startedAt) ?? 0,
    runtimeMs: ms(raw.wallSec),
    recordingMs: ms(raw.overheadSec),
    ...(num(raw.drainedSec) !== undefined ? { rerunHooksMs: Math.max(0, ms(raw.overheadSec) - ms(raw.drainedSec) + ms(raw.deferredSec)) } : {}),
    // Records of changes outside cells did not fail; a cell whose outcome is unknown counts as failed.
    success: raw.kind === 'cell' ? raw.success === true : true,
    reads: names(raw.read),
    readsAll: raw.readsAll === true,
    created: names(raw.created),
    modified: names(raw.modified),
    rebound: names(raw.rebound),
    deleted: names(raw.deleted),
    sideEffects: describe(raw.sideEffects),
    filesRead: describe(raw.inputs),
    importOnly: raw.importOnly === true,
    nondeterministic: Boolean(raw.nondeterministic),
  };
}
