/**
 * Planner benchmark: end-to-end planning time (validate, compile history, constraints, min-cut,
 * restore program, reasons) on synthetic sessions of 10^3, 10^4 and 10^5 cell executions.
 *
 * The sessions mimic real notebooks: a few long-lived data frames read by many cells and sometimes
 * mutated in place; each cell reads a few recent variables and writes one or two (mostly rebinding
 * a recent name, sometimes creating one); temporaries get deleted; a few cells have side effects,
 * irreproducible randomness or failed; some variables predate recording; a few groups share
 * references; a few variables are unserializable. Targets: ≤ 50 ms at 10^4, ≤ 1 s at 10^5
 * (ElasticNotebook's networkx solver: 881 ms at 5,000). Nothing here is asserted. Then the recorded
 * planning problems of the corpus notebooks (benchmarks/planner-problems.ts makes them).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import {
  NoValidPlanError,
  planReplication,
  type CellExecution,
  type MaxFlowAlgorithm,
  type PlanningProblem,
  type ReplicationPlan,
  type VariableGroup,
} from '@nbferry/planner';

/** mulberry32: reproducible sessions. */
function rng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) / 4294967296;
  };
}

function logUniform(r: () => number, lo: number, hi: number): number {
  return Math.round(lo * (hi / lo) ** r());
}

/**
 * `realistic`: a few cells failed (usually before writing anything), have side effects (usually
 * output-only: plots, files) or are nondeterministic, and 1% of variables are unserializable.
 * Otherwise every cell is replayable and every variable serializable: nothing is fixed by the
 * constraints, so the min-cut network is as large as the history allows (solver stress test).
 */
function syntheticSession(cellCount: number, seed: number, realistic: boolean): PlanningProblem {
  const r = rng(seed);
  const frames = Array.from({ length: Math.max(5, Math.round(cellCount / 2000)) }, (_, i) => `df${i}`);
  const preexisting = ['np', 'pd', 'config'];
  const recent: string[] = []; // live non-frame variables, most recent last
  let fresh = 0;
  const cells: CellExecution[] = [];
  for (let i = 0; i < cellCount; i++) {
    const roll = realistic ? r() : 1;
    const failed = roll < 0.005;
    const sideEffects = roll >= 0.005 && roll < 0.025;
    // Most failed cells raise before assigning anything; most side-effect cells only output.
    const quiet = (failed || sideEffects) && r() < 0.8;
    const reads = new Set<string>();
    const writes = new Set<string>();
    const deletes = new Set<string>();
    if (i < frames.length) {
      writes.add(frames[i]!); // load the data
      reads.add(preexisting[i % preexisting.length]!);
    } else {
      if (r() < 0.4) reads.add(frames[Math.floor(r() * frames.length)]!);
      if (!quiet && r() < 0.02) {
        const df = frames[Math.floor(r() * frames.length)]!;
        reads.add(df);
        writes.add(df); // df['col'] = ...
      }
      if (r() < 0.05) reads.add(preexisting[Math.floor(r() * preexisting.length)]!);
      const fanIn = 1 + Math.floor(r() * 3);
      for (let k = 0; k < fanIn && recent.length > 0; k++) {
        reads.add(recent[recent.length - 1 - Math.floor(r() * Math.min(20, recent.length))]!);
      }
      const outputs = quiet ? 0 : r() < 0.7 ? 1 : 2;
      for (let k = 0; k < outputs; k++) {
        const existing = recent.length > 0 ? recent[recent.length - 1 - Math.floor(r() * Math.min(30, recent.length))]! : null;
        if (existing !== null && !writes.has(existing) && r() < 0.6) {
          if (r() < 0.3) reads.add(existing); // in-place mutation
          writes.add(existing);
        } else {
          const name = `v${fresh++}`;
          writes.add(name);
          recent.push(name);
        }
      }
      if (!quiet && recent.length > 3 && r() < 0.3) {
        const index = recent.length - 2 - Math.floor(r() * Math.min(10, recent.length - 1));
        const name = recent[index]!;
        if (!writes.has(name)) {
          deletes.add(name);
          recent.splice(index, 1);
        }
      }
    }
    cells.push({
      id: i + 1,
      runtimeMs: logUniform(r, 1, 30_000),
      reads: [...reads],
      writes: [...writes],
      deletes: [...deletes],
      success: !failed,
      sideEffects,
      nondeterministic: roll >= 0.025 && roll < 0.035,
      label: `cell ${i + 1}`,
    });
  }
  const live = [...frames, ...preexisting, ...recent];
  const groups: VariableGroup[] = [];
  for (let k = 0; k < live.length; k++) {
    const names = [live[k]!];
    if (k + 1 < live.length && r() < 0.05) names.push(live[++k]!); // shared references
    const big = names.some((n) => n.startsWith('df'));
    groups.push({
      id: `g${groups.length}`,
      names,
      serializable: !realistic || r() >= 0.01,
      bytes: big ? logUniform(r, 1e6, 2e9) : logUniform(r, 100, 1e8),
      ...(r() < 0.5 ? { serializeMs: logUniform(r, 1, 2000), loadMs: logUniform(r, 1, 1000) } : {}),
    });
  }
  return {
    cells,
    groups,
    costs: {
      targetSpeedFactor: 1,
      store: { writeBytesPerSec: 500e6, readBytesPerSec: 1e9, latencyMs: 2 },
      objective: 'restore',
    },
  };
}

/** Unserializable variables nothing can recompute make the session unplannable; mark them serializable. */
function plannable(problem: PlanningProblem): PlanningProblem {
  for (;;) {
    try {
      planReplication(problem);
      return problem;
    } catch (error) {
      if (!(error instanceof NoValidPlanError)) throw error;
      const bad = new Set(error.variables.map((v) => v.group));
      problem = { ...problem, groups: problem.groups.map((g) => (bad.has(g.id) ? { ...g, serializable: true } : g)) };
    }
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Median time per algorithm; runs alternate between algorithms so machine noise hits both alike. */
function time(
  problem: PlanningProblem,
  algorithms: MaxFlowAlgorithm[],
  runs: number,
): Map<MaxFlowAlgorithm, { totalMs: number; solveMs: number; plan: ReplicationPlan }> {
  const total = new Map(algorithms.map((a) => [a, [] as number[]]));
  const solve = new Map(algorithms.map((a) => [a, [] as number[]]));
  const plans = new Map<MaxFlowAlgorithm, ReplicationPlan>();
  for (let k = 0; k < runs + 2; k++) {
    for (const algorithm of algorithms) {
      const start = performance.now();
      const plan = planReplication(problem, { algorithm });
      const elapsed = performance.now() - start;
      plans.set(algorithm, plan);
      if (k < 2) continue; // two warm-up rounds
      total.get(algorithm)!.push(elapsed);
      solve.get(algorithm)!.push(plan.solver.solveMs);
    }
  }
  return new Map(
    algorithms.map((a) => [a, { totalMs: median(total.get(a)!), solveMs: median(solve.get(a)!), plan: plans.get(a)! }]),
  );
}

const fmt = (ms: number): string => (ms < 100 ? ms.toFixed(1) : ms.toFixed(0)).padStart(5);

// JIT warm-up on a small session, so the first measured size is not charged for compilation.
time(plannable(syntheticSession(1_000, 1, false)), ['push-relabel', 'dinic'], 5);

console.log('planner benchmark: planReplication() end to end (validate, compile history, constraints, min-cut,');
console.log('restore program, reasons) and its min-cut part (build network + max-flow). Dinic is the test oracle.');
for (const [size, runs] of [
  [1_000, 21],
  [10_000, 11],
  [100_000, 5],
] as const) {
  for (const realistic of [true, false]) {
    const problem = plannable(syntheticSession(size, 42 + size, realistic));
    const results = time(problem, ['push-relabel', 'dinic'], runs);
    const reads = problem.cells.reduce((n, c) => n + c.reads.length, 0);
    const pr = results.get('push-relabel')!;
    const p = pr.plan;
    const dinic = results.get('dinic')!;
    console.log(
      `${String(size).padStart(7)} cells, ${realistic ? 'realistic     ' : 'all replayable'}: ` +
        `plan ${fmt(pr.totalMs)} ms, of which min-cut ${fmt(pr.solveMs)} ms (push-relabel)` +
        ` | with Dinic: plan ${fmt(dinic.totalMs)} ms, min-cut ${fmt(dinic.solveMs)} ms | median of ${runs}`,
    );
    console.log(
      `          min-cut network ${p.solver.nodes} nodes, ${p.solver.edges} arcs (+ ${p.solver.edges} reverse); ` +
        `history ${reads} reads, ${problem.groups.length} live groups; ` +
        `plan: serialize ${p.serialize.length}, rerun ${p.rerun.length}, ${p.program.length} restore steps`,
    );
    if (dinic.plan.rerun.join() !== p.rerun.join() || dinic.plan.serialize.join() !== p.serialize.join()) {
      console.log('          WARNING: Dinic and push-relabel plans differ');
    }
  }
}

// The planning problems of the corpus notebooks, recorded by benchmarks/planner-problems.ts.
const problemsDir = new URL('./results/planner-problems/', import.meta.url);
const recorded = existsSync(problemsDir) ? readdirSync(problemsDir).filter((f) => f.endsWith('.json')).sort() : [];
if (recorded.length > 0) {
  console.log(`\ncorpus notebooks (recorded at size small; median of 21):`);
  for (const file of recorded) {
    const problem = JSON.parse(readFileSync(new URL(file, problemsDir), 'utf8')) as PlanningProblem;
    const pr = time(problem, ['push-relabel'], 21).get('push-relabel')!;
    console.log(
      `  ${file.replace(/\.json$/, '').padEnd(34)} ${String(problem.cells.length).padStart(3)} executions, ` +
        `${String(problem.groups.length).padStart(3)} groups: plan ${fmt(pr.totalMs)} ms ` +
        `(serialize ${pr.plan.serialize.length}, rerun ${pr.plan.rerun.length})`,
    );
  }
}
