import { IntList } from './int-list.js';

/**
 * A flow network in compressed sparse row form. Every edge u→v becomes a forward arc in u's row
 * and a paired reverse arc (capacity 0) in v's row; `rev[a]` is the index of a's partner.
 *
 * Capacities must be non-negative integers below 2^52 so that float64 arithmetic is exact; an
 * "uncuttable" edge gets a finite BIG (sum of the finite capacities + 1), never Infinity.
 */
export interface FlowNetwork {
  nodeCount: number;
  source: number;
  sink: number;
  /** Arcs of node u are [first[u], first[u + 1]). */
  first: Int32Array;
  head: Int32Array;
  rev: Int32Array;
  capacity: Float64Array;
}

/** Result of a max-flow computation, with the canonical minimum cut. */
export interface MinCut {
  /** Maximum flow value = minimum cut capacity. */
  value: number;
  /**
   * 1 for nodes on the source side: those reachable from the source in the residual graph of the
   * maximum flow. This is the unique minimal source side (the same for every maximum flow), so
   * cuts, and therefore plans, are deterministic.
   */
  sourceSide: Uint8Array;
}

export class FlowNetworkBuilder {
  private readonly from = new IntList();
  private readonly to = new IntList();
  private readonly caps: number[] = [];

  constructor(
    readonly nodeCount: number,
    readonly source: number,
    readonly sink: number,
  ) {}

  get edgeCount(): number {
    return this.caps.length;
  }

  addEdge(u: number, v: number, capacity: number): void {
    if (!Number.isInteger(capacity) || capacity < 0 || capacity >= 2 ** 52) {
      throw new RangeError(`capacity must be an integer in [0, 2^52): ${capacity}`);
    }
    this.from.push(u);
    this.to.push(v);
    this.caps.push(capacity);
  }

  build(): FlowNetwork {
    const n = this.nodeCount;
    const m = this.caps.length;
    const first = new Int32Array(n + 1);
    for (let e = 0; e < m; e++) {
      first[this.from.data[e]! + 1]!++;
      first[this.to.data[e]! + 1]!++;
    }
    for (let u = 0; u < n; u++) first[u + 1]! += first[u]!;
    const fill = first.slice(0, n);
    const head = new Int32Array(2 * m);
    const rev = new Int32Array(2 * m);
    const capacity = new Float64Array(2 * m);
    for (let e = 0; e < m; e++) {
      const u = this.from.data[e]!;
      const v = this.to.data[e]!;
      const a = fill[u]!++;
      const b = fill[v]!++;
      head[a] = v;
      head[b] = u;
      rev[a] = b;
      rev[b] = a;
      capacity[a] = this.caps[e]!;
    }
    return { nodeCount: n, source: this.source, sink: this.sink, first, head, rev, capacity };
  }
}

/** Marks the nodes reachable from the source through arcs with residual capacity (BFS). */
export function sourceSideOf(net: FlowNetwork, residual: Float64Array): Uint8Array {
  const side = new Uint8Array(net.nodeCount);
  const queue = new Int32Array(net.nodeCount);
  let qh = 0;
  let qt = 0;
  side[net.source] = 1;
  queue[qt++] = net.source;
  while (qh < qt) {
    const u = queue[qh++]!;
    for (let a = net.first[u]!; a < net.first[u + 1]!; a++) {
      const v = net.head[a]!;
      if (side[v] === 0 && residual[a]! > 0) {
        side[v] = 1;
        queue[qt++] = v;
      }
    }
  }
  return side;
}
