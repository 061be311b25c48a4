import { describe, expect, it } from 'vitest';
import type { CellRecord } from '@nbferry/recorder';
import { plannerCells } from './planning-problem.js';

function record(seq: number, io: Partial<CellRecord>): CellRecord {
  return {
    seq,
    kind: 'cell',
    executionCount: seq,
    cellId: null,
    code: `cell ${seq}`,
    startedAt: 0,
    runtimeMs: 5,
    recordingMs: 0,
    success: true,
    reads: [],
    readsAll: false,
    created: [],
    modified: [],
    deleted: [],
    sideEffects: [],
    filesRead: [],
    importOnly: false,
    nondeterministic: false,
    ...io,
  };
}

const effect = (kind: string, path: string) => JSON.stringify({ kind, detail: path });
const input = (path: string) => JSON.stringify({ path, kind: 'file', size: 56, mtimeNs: '1' });

describe('plannerCells', () => {
  it('marks a cell that read a file the session writes or removes as not reproducible by a rerun', () => {
    // 1: os.remove(LOG)   2: log("a") appends to LOG   3: lines = open(LOG).read()   4: data = open(CSV).read()
    const cells = plannerCells([
      record(1, { sideEffects: [effect('file-remove', '/w/out/log.txt')] }),
      record(2, { sideEffects: [effect('file-write', '/w/out/log.txt')] }),
      record(3, { created: ['lines'], filesRead: [input('/w/out/log.txt')] }),
      record(4, { created: ['data'], filesRead: [input('/w/data.csv')] }),
    ]);
    expect(cells.map((c) => [c.id, c.sideEffects, c.nondeterministic])).toEqual([
      [1, true, false],
      [2, true, false],
      [3, false, true],
      [4, false, false],
    ]);
  });
});
