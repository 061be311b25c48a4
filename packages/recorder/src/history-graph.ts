/**
 * The Application History Graph: cell executions and variable versions as nodes, reads and writes
 * as edges (version -> cell for a read, cell -> version for a write), kept with @dagrejs/graphlib.
 * A version is named `<name>@<seq of its writer>`; `<name>@pre` is a value that existed before
 * recording began (unknown provenance). Records are idempotent by seq, so re-attaching and
 * replaying the shim's history is harmless.
 */
import { Graph } from '@dagrejs/graphlib';
import { priorReads, type CellRecord } from './cell-record.js';
import { HistoryGapError } from './errors.js';

export type HistoryNode =
  | { kind: 'cell'; record: CellRecord }
  | { kind: 'version'; name: string; writer: number | 'pre'; deleted: boolean };

export interface HistoryGraphJson {
  format: 'nbferry-history';
  version: 1;
  /** Names that existed before recording began. */
  preexisting: string[];
  executions: CellRecord[];
  nodes: { id: string; kind: 'cell' | 'version'; label: string }[];
  edges: { from: string; to: string; kind: 'read' | 'write' }[];
}

const PRE = 'pre';

export class HistoryGraph {
  readonly graph = new Graph<unknown, HistoryNode, { kind: 'read' | 'write' }>({ directed: true, multigraph: false });
  private readonly records: CellRecord[] = [];
  private readonly latest = new Map<string, string>(); // name -> current version node id
  readonly preexisting = new Set<string>();

  /** Declares names found in the namespace before recording began. */
  addPreexisting(names: Iterable<string>): void {
    for (const name of names) {
      if (this.preexisting.has(name) || this.latest.has(name)) continue;
      this.preexisting.add(name);
      const id = versionId(name, PRE);
      this.graph.setNode(id, { kind: 'version', name, writer: PRE, deleted: false });
      this.latest.set(name, id);
    }
  }

  /**
   * Adds a record; returns false if it was already there. Records arrive in seq order without
   * gaps; the first may start anywhere (the shim's buffer keeps only the newest records).
   */
  add(record: CellRecord): boolean {
    if (record.seq <= this.lastSeq) return false;
    if (this.records.length > 0 && record.seq !== this.lastSeq + 1) {
      throw new HistoryGapError(record.seq, this.lastSeq + 1);
    }
    this.records.push(record);
    const cell = cellId(record.seq);
    this.graph.setNode(cell, { kind: 'cell', record });
    for (const name of priorReads(record)) {
      const version = this.latest.get(name) ?? this.preexistingVersion(name);
      this.graph.setEdge(version, cell, { kind: 'read' });
    }
    for (const name of new Set([...record.created, ...record.modified])) this.write(cell, name, record.seq, false);
    for (const name of record.deleted) this.write(cell, name, record.seq, true);
    return true;
  }

  get executions(): readonly CellRecord[] {
    return this.records;
  }

  get length(): number {
    return this.records.length;
  }

  /** Seq of the newest record, 0 when empty. */
  get lastSeq(): number {
    return this.records.at(-1)?.seq ?? 0;
  }

  /** Names live at the end of the history, by what the records say. */
  liveNames(): string[] {
    return [...this.latest.entries()]
      .filter(([, id]) => !(this.graph.node(id) as Extract<HistoryNode, { kind: 'version' }>).deleted)
      .map(([name]) => name)
      .sort();
  }

  toJSON(): HistoryGraphJson {
    return {
      format: 'nbferry-history',
      version: 1,
      preexisting: [...this.preexisting].sort(),
      executions: this.records,
      nodes: this.graph.nodes().map((id) => {
        const node = this.graph.node(id)!;
        return { id, kind: node.kind, label: node.kind === 'cell' ? firstLine(node.record.code) : node.name };
      }),
      edges: this.graph.edges().map((e) => ({ from: e.v, to: e.w, kind: this.graph.edge(e)!.kind })),
    };
  }

  static fromJSON(json: HistoryGraphJson): HistoryGraph {
    const graph = new HistoryGraph();
    graph.addPreexisting(json.preexisting);
    for (const record of json.executions) graph.add(record);
    return graph;
  }

  toDot(): string {
    const lines = ['digraph history {', '  rankdir=LR;', '  node [fontname="Helvetica", fontsize=10];'];
    for (const id of this.graph.nodes()) {
      const node = this.graph.node(id)!;
      if (node.kind === 'cell') {
        const r = node.record;
        const title = r.kind === 'cell' ? `[${r.executionCount ?? r.seq}] ${firstLine(r.code)}` : `(${r.kind})`;
        const label = `${title}\n${r.runtimeMs.toFixed(0)} ms${r.success ? '' : ' (error)'}`;
        lines.push(`  "${id}" [shape=box, label="${escapeDot(label)}"${r.sideEffects.length ? ', color=red' : ''}];`);
      } else {
        const label = `${node.name}${node.deleted ? ' (deleted)' : ''}`;
        lines.push(`  "${id}" [shape=ellipse, label="${escapeDot(label)}"${node.writer === PRE ? ', style=dashed' : ''}];`);
      }
    }
    for (const e of this.graph.edges()) {
      lines.push(`  "${e.v}" -> "${e.w}"${this.graph.edge(e)!.kind === 'read' ? ' [style=dotted]' : ''};`);
    }
    lines.push('}');
    return `${lines.join('\n')}\n`;
  }

  private write(cell: string, name: string, seq: number, deleted: boolean): void {
    const id = versionId(name, seq);
    this.graph.setNode(id, { kind: 'version', name, writer: seq, deleted });
    this.graph.setEdge(cell, id, { kind: 'write' });
    this.latest.set(name, id);
  }

  /** A read of a name never written: it predates recording. */
  private preexistingVersion(name: string): string {
    this.addPreexisting([name]);
    return this.latest.get(name)!;
  }
}

function cellId(seq: number): string {
  return `cell:${seq}`;
}

function versionId(name: string, writer: number | typeof PRE): string {
  return `var:${name}@${writer}`;
}

function firstLine(code: string): string {
  const line = code.split('\n').find((l) => l.trim() !== '') ?? '';
  return line.length > 60 ? `${line.slice(0, 57)}...` : line;
}

function escapeDot(text: string): string {
  return text.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n');
}
