import { sourceSideOf, type FlowNetwork, type MinCut } from './flow-network.js';

/**
 * Highest-label push-relabel with the global-relabel and gap heuristics: the production solver.
 *
 * Phase 1 pushes excess toward the sink and ends with a maximum preflow (its value is the max
 * flow). Phase 2 runs the same machinery toward the source, returning the excess that cannot reach
 * the sink, so the preflow becomes a flow and the canonical cut (the source side = nodes reachable
 * from s in the residual graph) is the same as for any other maximum flow, e.g. Dinic's.
 *
 * Heights live in buckets: active nodes (singly linked, to pick the highest) and all nodes (doubly
 * linked, so a gap lifts everything above it in time proportional to what it lifts). A global
 * relabel (exact distances by reverse BFS) runs at the start of each phase and whenever the relabel
 * work since the last one exceeds about 6n + m.
 */
export function maxFlowPushRelabel(net: FlowNetwork): MinCut {
  const res = net.capacity.slice();
  const excess = new Float64Array(net.nodeCount);
  const { first, head, rev, source: s } = net;
  for (let a = first[s]!; a < first[s + 1]!; a++) {
    const c = res[a]!;
    if (c === 0) continue;
    res[a] = 0;
    res[rev[a]!]! += c;
    excess[head[a]!]! += c;
  }
  drain(net, res, excess, net.sink, s);
  const value = excess[net.sink]!;
  drain(net, res, excess, s, net.sink);
  return { value, sourceSide: sourceSideOf(net, res) };
}

/**
 * Discharges every node with excess toward `target`, except `other` (the opposite terminal, whose
 * excess is left alone). Nodes that cannot reach `target` keep their excess (phase 1 only; in
 * phase 2 every node with excess can reach the source, since its excess came from there).
 */
function drain(net: FlowNetwork, res: Float64Array, excess: Float64Array, target: number, other: number): void {
  const { nodeCount: n, first, head, rev } = net;
  const height = new Int32Array(n);
  const cur = new Int32Array(n);
  const activeHead = new Int32Array(n).fill(-1);
  const activeNext = new Int32Array(n);
  const allHead = new Int32Array(n).fill(-1);
  const allNext = new Int32Array(n);
  const allPrev = new Int32Array(n);
  const queue = new Int32Array(n);
  let maxActive = -1;
  let maxHeight = -1;

  const addActive = (v: number, h: number): void => {
    activeNext[v] = activeHead[h]!;
    activeHead[h] = v;
    if (h > maxActive) maxActive = h;
  };
  const addAll = (v: number, h: number): void => {
    const next = allHead[h]!;
    allPrev[v] = -1;
    allNext[v] = next;
    if (next >= 0) allPrev[next] = v;
    allHead[h] = v;
    if (h > maxHeight) maxHeight = h;
  };
  const removeAll = (v: number, h: number): void => {
    const prev = allPrev[v]!;
    const next = allNext[v]!;
    if (prev >= 0) allNext[prev] = next;
    else allHead[h] = next;
    if (next >= 0) allPrev[next] = prev;
  };

  const globalRelabel = (): void => {
    height.fill(n);
    height[target] = 0;
    let qh = 0;
    let qt = 0;
    queue[qt++] = target;
    while (qh < qt) {
      const v = queue[qh++]!;
      const hv = height[v]! + 1;
      for (let a = first[v]!; a < first[v + 1]!; a++) {
        const u = head[a]!;
        if (height[u] === n && u !== other && res[rev[a]!]! > 0) {
          height[u] = hv;
          queue[qt++] = u;
        }
      }
    }
    activeHead.fill(-1);
    allHead.fill(-1);
    maxActive = -1;
    maxHeight = -1;
    for (let v = 0; v < n; v++) {
      const h = height[v]!;
      if (v === target || h >= n) continue;
      cur[v] = first[v]!;
      addAll(v, h);
      if (excess[v]! > 0) addActive(v, h);
    }
  };

  /** All nodes at heights above h can no longer reach the target. */
  const gap = (h: number): void => {
    for (let hh = h + 1; hh <= maxHeight; hh++) {
      for (let u = allHead[hh]!; u >= 0; u = allNext[u]!) height[u] = n;
      allHead[hh] = -1;
      activeHead[hh] = -1;
    }
    maxHeight = h - 1;
    if (maxActive > maxHeight) maxActive = maxHeight;
  };

  let work = 0;
  const workLimit = 6 * n + head.length;

  const discharge = (v: number): void => {
    for (;;) {
      const h = height[v]!;
      const end = first[v + 1]!;
      let a = cur[v]!;
      for (; a < end; a++) {
        const r = res[a]!;
        if (r === 0) continue;
        const w = head[a]!;
        if (height[w] !== h - 1) continue;
        const ex = excess[v]!;
        const d = ex < r ? ex : r;
        res[a] = r - d;
        res[rev[a]!]! += d;
        excess[v] = ex - d;
        if (w !== target && excess[w] === 0) addActive(w, h - 1);
        excess[w]! += d;
        if (ex === d) break;
      }
      if (excess[v] === 0) {
        cur[v] = a;
        return;
      }
      // Relabel.
      work += 12 + end - first[v]!;
      if (allHead[h] === v && allNext[v] === -1) {
        allHead[h] = -1;
        height[v] = n;
        gap(h);
        return;
      }
      removeAll(v, h);
      let newHeight = n;
      let newCur = first[v]!;
      for (let b = first[v]!; b < end; b++) {
        if (res[b]! > 0) {
          const hw = height[head[b]!]! + 1;
          if (hw < newHeight) {
            newHeight = hw;
            newCur = b;
          }
        }
      }
      height[v] = newHeight;
      if (newHeight >= n) return;
      cur[v] = newCur;
      addAll(v, newHeight);
    }
  };

  globalRelabel();
  while (maxActive >= 0) {
    const v = activeHead[maxActive]!;
    if (v < 0) {
      maxActive--;
      continue;
    }
    activeHead[maxActive] = activeNext[v]!;
    if (height[v]! >= n || excess[v] === 0) continue;
    discharge(v);
    if (work > workLimit) {
      globalRelabel();
      work = 0;
    }
  }
}
