import { describe, expect, it } from 'vitest';
import { maxFlowDinic } from './dinic.js';
import { FlowNetworkBuilder, type FlowNetwork } from './flow-network.js';
import { maxFlowPushRelabel } from './push-relabel.js';
import { Rng } from './testing/rng.js';

/** Exhaustive minimum cut; returns its value and the minimal source side (intersection of all minimum source sides). */
function bruteForceMinCut(net: FlowNetwork): { value: number; sourceSide: number[] } {
  const inner = [...Array(net.nodeCount).keys()].filter((v) => v !== net.source && v !== net.sink);
  let best = Number.POSITIVE_INFINITY;
  let minimal: Set<number> | null = null;
  for (let mask = 0; mask < 1 << inner.length; mask++) {
    const side = new Set<number>([net.source]);
    inner.forEach((v, i) => {
      if (mask & (1 << i)) side.add(v);
    });
    let cut = 0;
    for (const u of side) {
      for (let a = net.first[u]!; a < net.first[u + 1]!; a++) if (!side.has(net.head[a]!)) cut += net.capacity[a]!;
    }
    if (cut < best) {
      best = cut;
      minimal = side;
    } else if (cut === best) {
      minimal = new Set([...minimal!].filter((v) => side.has(v)));
    }
  }
  return { value: best, sourceSide: [...minimal!].sort((a, b) => a - b) };
}

function randomNetwork(rng: Rng): FlowNetwork {
  const n = rng.int(2, 9);
  const b = new FlowNetworkBuilder(n, 0, n - 1);
  const edges = rng.int(0, n * 3);
  const big = rng.chance(0.5) ? 1000 : 0;
  for (let e = 0; e < edges; e++) {
    const u = rng.int(0, n - 1);
    const v = rng.int(0, n - 1);
    if (u === v) continue;
    b.addEdge(u, v, rng.chance(0.2) ? big : rng.int(0, 9));
  }
  return b.build();
}

const members = (side: Uint8Array): number[] => [...side.keys()].filter((v) => side[v] === 1);

describe('max-flow / min-cut', () => {
  it('push-relabel and Dinic agree with exhaustive search on value and canonical cut (600 random networks)', () => {
    const rng = new Rng(7);
    for (let trial = 0; trial < 600; trial++) {
      const net = randomNetwork(rng);
      const expected = bruteForceMinCut(net);
      for (const solve of [maxFlowPushRelabel, maxFlowDinic]) {
        const cut = solve(net);
        expect(cut.value, `trial ${trial} ${solve.name}`).toBe(expected.value);
        expect(members(cut.sourceSide), `trial ${trial} ${solve.name}`).toEqual(expected.sourceSide);
      }
    }
  });

  it('agree with each other on larger project-selection networks', () => {
    const rng = new Rng(11);
    for (let trial = 0; trial < 30; trial++) {
      const n = rng.int(50, 400);
      const b = new FlowNetworkBuilder(n + 2, n, n + 1);
      let finite = 0;
      const edges: [number, number][] = [];
      for (let v = 0; v < n; v++) {
        const cs = rng.int(0, 1000);
        const ct = rng.int(0, 1000);
        finite += cs + ct;
        if (cs > 0) b.addEdge(n, v, cs);
        if (ct > 0) b.addEdge(v, n + 1, ct);
        for (let k = rng.int(0, 4); k > 0; k--) edges.push([v, rng.int(0, n - 1)]);
      }
      for (const [u, v] of edges) if (u !== v) b.addEdge(u, v, finite + 1);
      const net = b.build();
      const pr = maxFlowPushRelabel(net);
      const dinic = maxFlowDinic(net);
      expect(pr.value).toBe(dinic.value);
      expect(members(pr.sourceSide)).toEqual(members(dinic.sourceSide));
    }
  });

  it('rejects non-integer, negative and infinite capacities', () => {
    const b = new FlowNetworkBuilder(2, 0, 1);
    expect(() => b.addEdge(0, 1, Number.POSITIVE_INFINITY)).toThrow(RangeError);
    expect(() => b.addEdge(0, 1, -1)).toThrow(RangeError);
    expect(() => b.addEdge(0, 1, 0.5)).toThrow(RangeError);
  });
});
