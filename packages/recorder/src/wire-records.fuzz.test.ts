/**
 * Fuzzing the record decoder: whatever msgpack the shim's comm delivers (random values, random
 * bytes, mutated real records), normalizeRecord returns a well-typed CellRecord or throws
 * MalformedRecordError, and the history graph only ever throws typed errors.
 * NBFERRY_FUZZ_RUNS=N for a longer run.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NbferryError, ProtocolError, packMsgpack, unpackMsgpack } from '@nbferry/protocol';
import type { CellRecord } from './cell-record.js';
import { MalformedRecordError, RecorderError } from './errors.js';
import { HistoryGraph } from './history-graph.js';
import { normalizeRecord } from './wire-records.js';

const RUNS = Number(process.env.NBFERRY_FUZZ_RUNS ?? 300);

function normalizeOrRejected(value: unknown): CellRecord | 'rejected' {
  try {
    return normalizeRecord(value);
  } catch (error) {
    if (error instanceof MalformedRecordError) return 'rejected';
    throw error;
  }
}

function expectWellTyped(record: CellRecord): void {
  expect(Number.isInteger(record.seq) && record.seq >= 1).toBe(true);
  expect(['cell', 'outside', 'load']).toContain(record.kind);
  for (const n of [record.startedAt, record.runtimeMs, record.recordingMs, record.rerunHooksMs ?? 0]) expect(Number.isFinite(n)).toBe(true);
  expect(record.executionCount === null || Number.isFinite(record.executionCount)).toBe(true);
  expect(record.cellId === null || typeof record.cellId === 'string').toBe(true);
  expect(typeof record.code).toBe('string');
  for (const list of [record.reads, record.created, record.modified, record.deleted, record.sideEffects, record.filesRead]) {
    expect(list.every((item) => typeof item === 'string')).toBe(true);
  }
  for (const flag of [record.success, record.readsAll, record.importOnly, record.nondeterministic]) expect(typeof flag).toBe('boolean');
}

/** Any value msgpack can decode to: maps (with tricky keys), arrays, bytes, bigints, scalars. */
const decoded = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double(),
    fc.bigInt(),
    fc.string(),
    fc.uint8Array({ maxLength: 8 }),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('toString', 'valueOf', 'toJSON', 'seq', 'read')), tie('value'), { maxKeys: 4 }),
  ),
})).value;

const FIELDS = ['seq', 'kind', 'executionCount', 'cellId', 'code', 'startedAt', 'wallSec', 'overheadSec', 'success', 'read', 'readsAll', 'created', 'modified', 'deleted', 'sideEffects', 'inputs', 'importOnly', 'nondeterministic'];

/** A record as the shim sends it. */
const realRecord = fc.record({
  seq: fc.integer({ min: 1, max: 1000 }),
  kind: fc.constantFrom('cell', 'outside', 'load'),
  executionCount: fc.option(fc.nat()),
  cellId: fc.option(fc.string()),
  code: fc.string(),
  startedAt: fc.double({ min: 0, max: 2e9, noNaN: true }),
  wallSec: fc.double({ min: 0, max: 1e4, noNaN: true }),
  overheadSec: fc.double({ min: 0, max: 10, noNaN: true }),
  success: fc.option(fc.boolean()),
  read: fc.array(fc.string({ maxLength: 5 }), { maxLength: 4 }),
  readsAll: fc.boolean(),
  created: fc.array(fc.string({ maxLength: 5 }), { maxLength: 4 }),
  modified: fc.array(fc.string({ maxLength: 5 }), { maxLength: 4 }),
  deleted: fc.array(fc.string({ maxLength: 5 }), { maxLength: 4 }),
  sideEffects: fc.array(fc.record({ kind: fc.string(), detail: fc.string() }), { maxLength: 2 }),
  inputs: fc.array(fc.record({ path: fc.string(), kind: fc.constantFrom('file', 'dir'), size: fc.nat() }), { maxLength: 2 }),
  importOnly: fc.boolean(),
  nondeterministic: fc.boolean(),
});

describe('record decoder fuzzing', () => {
  it('any decoded value is a well-typed record or a MalformedRecordError', () => {
    fc.assert(
      fc.property(decoded, (value) => {
        const result = normalizeOrRejected(value);
        if (result !== 'rejected') expectWellTyped(result);
      }),
      { numRuns: RUNS },
    );
  });

  it('real records with fields replaced by anything: well-typed or a MalformedRecordError', () => {
    const replacement = fc.array(fc.tuple(fc.constantFrom(...FIELDS), decoded), { minLength: 1, maxLength: 4 });
    fc.assert(
      fc.property(realRecord, replacement, (record, replacements) => {
        const mutated: Record<string, unknown> = { ...record };
        for (const [field, value] of replacements) mutated[field] = value;
        const result = normalizeOrRejected(mutated);
        if (result !== 'rejected') expectWellTyped(result);
      }),
      { numRuns: RUNS },
    );
  });

  it('real records through msgpack keep their meaning', () => {
    fc.assert(
      fc.property(realRecord, (record) => {
        const result = normalizeRecord(unpackMsgpack(packMsgpack(record)));
        expect(result.seq).toBe(record.seq);
        expect(result.reads).toEqual(record.read);
        expect(result.created).toEqual(record.created);
        expect(result.runtimeMs).toBeCloseTo(record.wallSec * 1000);
        expect(result.success).toBe(record.kind === 'cell' ? record.success === true : true);
      }),
      { numRuns: RUNS },
    );
  });

  it('mutated msgpack of a batch of records: typed errors only, the graph stays consistent', () => {
    const edit = fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) });
    fc.assert(
      fc.property(fc.array(realRecord, { minLength: 1, maxLength: 4 }), fc.array(edit, { minLength: 1, maxLength: 4 }), (records, edits) => {
        const bytes = Buffer.from(packMsgpack({ records: records.map((r, i) => ({ ...r, seq: i + 1 })), lastSeq: records.length }));
        for (const { at, byte } of edits) bytes[at % bytes.length] = byte;
        const graph = new HistoryGraph();
        try {
          const payload = unpackMsgpack<{ records?: unknown }>(bytes);
          const batch = isObject(payload) && Array.isArray(payload.records) ? payload.records : [];
          for (const raw of batch) graph.add(normalizeRecord(raw));
        } catch (error) {
          expect(error instanceof ProtocolError || error instanceof RecorderError).toBe(true);
          expect((error as NbferryError).code).toMatch(/^[A-Z_]+$/);
        }
        expect(graph.executions.every((r, i) => i === 0 || r.seq === graph.executions[i - 1]!.seq + 1)).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });
});

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
