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

  it('does not tie a cell to the old value of a name it only rebound, but does to one it changed in place', () => {
    // 1: k = 0; lst = []   2: for k in range(3): lst.append(k)   3: lst = sorted(lst) (reads lst first)
    const history = [
      record(1, { created: ['k', 'lst'] }),
      record(2, { modified: ['k', 'lst'], rebound: ['k'] }),
      record(3, { reads: ['lst'], modified: ['lst'], rebound: ['lst'] }),
    ];
    expect(plannerCells(history).map((c) => [c.id, [...c.reads].sort()])).toEqual([
      [1, []],
      [2, ['lst']],
      [3, ['lst']],
    ]);
    // A record from a checkpoint written before `rebound` was kept: every modified name is read.
    const old = history.map(({ rebound: _, ...r }) => r);
    expect([...plannerCells(old)[1]!.reads].sort()).toEqual(['k', 'lst']);
  });
});
