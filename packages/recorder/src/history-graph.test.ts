import { describe, expect, it } from 'vitest';
import type { CellRecord } from './cell-record.js';
import { HistoryGraph } from './history-graph.js';

function record(seq: number, fields: Partial<CellRecord>): CellRecord {
  return {
    seq,
    kind: 'cell',
    executionCount: seq + 1,
    cellId: null,
    code: `cell ${seq}`,
    startedAt: 0,
    runtimeMs: 10,
    recordingMs: 0,
    importOnly: false,
    success: true,
    reads: [],
    readsAll: false,
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
    graph.add(record(1, { created: ['x'], reads: ['old'] }));
    graph.add(record(2, { modified: ['x'], reads: ['x'] }));
    graph.add(record(3, { created: ['y'], reads: ['x'] }));
    graph.add(record(4, { deleted: ['old'] }));
    const edges = graph.graph.edges().map((e) => `${e.v} -> ${e.w}`).sort();
    expect(edges).toEqual(
      [
        'var:old@pre -> cell:1',
        'cell:1 -> var:x@1',
        'var:x@1 -> cell:2',
        'cell:2 -> var:x@2',
        'var:x@2 -> cell:3',
        'cell:3 -> var:y@3',
        'cell:4 -> var:old@4',
      ].sort(),
    );
    expect(graph.liveNames()).toEqual(['x', 'y']);
  });

  it('links a cell to the old version of a name it changed in place, not of one it only rebound', () => {
    const graph = new HistoryGraph();
    graph.add(record(1, { created: ['k', 'lst'] }));
    graph.add(record(2, { modified: ['k', 'lst'], rebound: ['k'] })); // for k in ...: lst.append(k)
    expect(graph.graph.hasEdge('var:lst@1', 'cell:2')).toBe(true);
    expect(graph.graph.hasEdge('var:k@1', 'cell:2')).toBe(false);
    expect(graph.graph.hasEdge('cell:2', 'var:k@2')).toBe(true);
  });

  it('treats a read of a never-written name as unknown provenance', () => {
    const graph = new HistoryGraph();
    graph.add(record(1, { reads: ['mystery'], created: ['z'] }));
    expect(graph.preexisting.has('mystery')).toBe(true);
    expect(graph.graph.hasEdge('var:mystery@pre', 'cell:1')).toBe(true);
  });

  it('ignores replayed records and refuses gaps', () => {
    const graph = new HistoryGraph();
    expect(graph.add(record(5, { created: ['a'] }))).toBe(true); // the shim dropped records 0..4
    expect(graph.add(record(5, { created: ['a'] }))).toBe(false);
    expect(() => graph.add(record(7, {}))).toThrow(/history gap/);
    expect(graph.lastSeq).toBe(5);
  });

  it('round-trips through JSON and renders DOT', () => {
    const graph = new HistoryGraph();
    graph.add(record(1, { created: ['df'], code: 'df = pd.read_csv("data.csv")' }));
    graph.add(record(2, { modified: ['df'], sideEffects: ['open("out.csv", "w")'] }));
    const copy = HistoryGraph.fromJSON(JSON.parse(JSON.stringify(graph.toJSON())));
    expect(copy.toJSON()).toEqual(graph.toJSON());
    const dot = graph.toDot();
    expect(dot).toContain('"cell:2" [shape=box');
    expect(dot).toContain('color=red');
    expect(dot).toContain('read_csv(\\"data.csv\\")');
    expect(dot).toContain('"var:df@1" -> "cell:2" [style=dotted]');
  });
});
