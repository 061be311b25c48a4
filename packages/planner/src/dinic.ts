import { sourceSideOf, type FlowNetwork, type MinCut } from './flow-network.js';

/**
 * Dinic's algorithm (BFS level graph + blocking flow by DFS with current-arc pointers). Simple and
 * obviously correct, so it is the test oracle for push-relabel; recursion depth is bounded by the
 * level of the sink, fine for test-sized networks.
 */
export function maxFlowDinic(net: FlowNetwork): MinCut {
  const { nodeCount: n, source: s, sink: t, first, head, rev } = net;
  const res = net.capacity.slice();
  const level = new Int32Array(n);
  const it = new Int32Array(n);
  const queue = new Int32Array(n);

  const bfs = (): boolean => {
    level.fill(-1);
    level[s] = 0;
    let qh = 0;
    let qt = 0;
    queue[qt++] = s;
    while (qh < qt) {
      const u = queue[qh++]!;
      for (let a = first[u]!; a < first[u + 1]!; a++) {
        const v = head[a]!;
        if (level[v] === -1 && res[a]! > 0) {
          level[v] = level[u]! + 1;
          queue[qt++] = v;
        }
      }
    }
    return level[t] !== -1;
  };

  const dfs = (u: number, limit: number): number => {
    if (u === t) return limit;
    for (; it[u]! < first[u + 1]!; it[u]!++) {
      const a = it[u]!;
      const v = head[a]!;
      if (res[a]! > 0 && level[v] === level[u]! + 1) {
        const pushed = dfs(v, Math.min(limit, res[a]!));
        if (pushed > 0) {
          res[a]! -= pushed;
          res[rev[a]!]! += pushed;
          return pushed;
        }
      }
    }
    return 0;
  };

  // The most that can ever leave the source: a finite bound for the DFS, instead of Infinity.
  let bound = 0;
  for (let a = first[s]!; a < first[s + 1]!; a++) bound += res[a]!;

  let value = 0;
  while (bfs()) {
    it.set(first.subarray(0, n));
    for (let pushed = dfs(s, bound); pushed > 0; pushed = dfs(s, bound)) value += pushed;
  }
  return { value, sourceSide: sourceSideOf(net, res) };
}
