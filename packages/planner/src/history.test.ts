import { describe, expect, it } from 'vitest';
import { ABSENT, analyzeHistory, INITIAL, OUTSIDE } from './history.js';
import { cell, group, problem } from './testing/builders.js';

const range = (start: Int32Array, values: Int32Array, i: number): number[] => [...values.subarray(start[i]!, start[i + 1]!)];

describe('analyzeHistory', () => {
  // 0: x = 1   1: x.append(2)   2: y = f(x, w)   3: del x   4: z = g(x?)   5: x = 3; del x
  const p = problem(
    [
      cell(10, 1, { writes: ['x'] }),
      cell(11, 1, { reads: ['x', 'x'], writes: ['x'] }),
      cell(12, 1, { reads: ['x', 'w'], writes: ['y'] }),
      cell(13, 1, { deletes: ['x'] }),
      cell(14, 1, { reads: ['x'], writes: ['z'] }),
      cell(15, 1, { writes: ['x', 'q'], deletes: ['x'] }),
    ],
    [group('g', ['y', 'z'], 1), group('gx', ['x'], 1), group('gw', ['w'], 1), group('gq', ['q'], 1)],
  );
  const h = analyzeHistory(p);
  const id = (n: string): number => h.names.indexOf(n);

  it('resolves each read to the latest earlier write, ignoring duplicates and reads of deleted names', () => {
    expect(range(h.readStart, h.readVersion, 1)).toEqual([0]);
    expect(range(h.readStart, h.readName, 2).map((n) => h.names[n])).toEqual(['x', 'w']);
    expect(range(h.readStart, h.readVersion, 2)).toEqual([1, INITIAL]);
    expect(range(h.readStart, h.readVersion, 4)).toEqual([ABSENT]);
  });

  it('lets a delete win over a write in the same cell', () => {
    expect(range(h.writeStart, h.writeName, 5).map((n) => h.names[n])).toEqual(['q']);
    expect(range(h.deleteStart, h.deleteName, 5).map((n) => h.names[n])).toEqual(['x']);
  });

  it('derives active versions, including unknown provenance', () => {
    expect(h.activeVersion[id('y')]).toBe(2);
    expect(h.activeVersion[id('w')]).toBe(INITIAL);
    expect(h.activeVersion[id('x')]).toBe(OUTSIDE);
    expect(h.groupUnknownName[1]).toBe(id('x'));
    expect(range(h.groupWriterStart, h.groupWriter, 0)).toEqual([2, 4]);
  });

  it('makes non-active versions prerequisites and active ones free', () => {
    // Cell 2 reads x@1 (x is re-created later, so not active) and w at its active version.
    expect(range(h.prereqStart, h.prereq, 2)).toEqual([1]);
    expect(range(h.prereqStart, h.prereq, 1)).toEqual([0]);
    expect(h.unknownRead[2]).toBe(-1);
  });

  it('flags a read of a pre-recording value that is no longer live', () => {
    const q = analyzeHistory(
      problem([cell(1, 1, { reads: ['v'], writes: ['out'] }), cell(2, 1, { writes: ['v'] })], [group('g', ['out'], 1)]),
    );
    expect(q.names[q.unknownRead[0]!]).toBe('v');
  });
});
