import { describe, expect, it } from 'vitest';
import type { CellRecord } from './cell-record.js';
import { HistoryGraph } from './history-graph.js';

function record(seq: number, fields: Partial<CellRecord>): CellRecord {
  return {
    seq,
    executionCount: seq + 1,
    cellId: null,
    code: `cell ${seq}`,
    startedAt: 0,
    runtimeMs: 10,
    success: true,
    reads: [],
    created: [],
    modified: [],
    deleted: [],
    sideEffects: [],
    filesRead: [],
    nondeterministic: false,
    ...fields,
  };
}

describe('HistoryGraph', () => {
  it('links reads to the version current at the time and writes to new versions', () => {
    const graph = new HistoryGraph();
    graph.addPreexisting(['old']);
    graph.add(record(0, { created: ['x'], reads: ['old'] }));
    graph.add(record(1, { modified: ['x'], reads: ['x'] }));
    graph.add(record(2, { created: ['y'], reads: ['x'] }));
    graph.add(record(3, { deleted: ['old'] }));
    const edges = graph.graph.edges().map((e) => `${e.v} -> ${e.w}`).sort();
    expect(edges).toEqual(
      [
        'var:old@pre -> cell:0',
        'cell:0 -> var:x@0',
        'var:x@0 -> cell:1',
        'cell:1 -> var:x@1',
        'var:x@1 -> cell:2',
        'cell:2 -> var:y@2',
        'cell:3 -> var:old@3',
      ].sort(),
    );
    expect(graph.liveNames()).toEqual(['x', 'y']);
  });

  it('treats a read of a never-written name as unknown provenance', () => {
    const graph = new HistoryGraph();
    graph.add(record(0, { reads: ['mystery'], created: ['z'] }));
    expect(graph.preexisting.has('mystery')).toBe(true);
    expect(graph.graph.hasEdge('var:mystery@pre', 'cell:0')).toBe(true);
  });

  it('ignores replayed records and refuses gaps', () => {
    const graph = new HistoryGraph();
    expect(graph.add(record(0, { created: ['a'] }))).toBe(true);
    expect(graph.add(record(0, { created: ['a'] }))).toBe(false);
    expect(() => graph.add(record(2, {}))).toThrow(/history gap/);
  });

  it('round-trips through JSON and renders DOT', () => {
    const graph = new HistoryGraph();
    graph.add(record(0, { created: ['df'], code: 'df = pd.read_csv("data.csv")' }));
    graph.add(record(1, { modified: ['df'], sideEffects: ['open("out.csv", "w")'] }));
    const copy = HistoryGraph.fromJSON(JSON.parse(JSON.stringify(graph.toJSON())));
    expect(copy.toJSON()).toEqual(graph.toJSON());
    const dot = graph.toDot();
    expect(dot).toContain('"cell:1" [shape=box');
    expect(dot).toContain('color=red');
    expect(dot).toContain('read_csv(\\"data.csv\\")');
    expect(dot).toContain('"var:df@0" -> "cell:1" [style=dotted]');
  });
});
