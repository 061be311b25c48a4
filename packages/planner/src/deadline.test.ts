import { describe, expect, it } from 'vitest';
import { groupCost, rerunMs } from './cost-model.js';
import { planWithDeadline } from './deadline.js';
import type { PlanningProblem } from './problem.js';
import { cell, group, MB, problem } from './testing/builders.js';
import { enumeratePlans, type EnumeratedPlan } from './testing/brute-force.js';
import { randomProblem } from './testing/random-problem.js';
import { Rng } from './testing/rng.js';
import { verifyPlan } from './verify.js';

function metrics(p: PlanningProblem, plan: EnumeratedPlan): { checkpointMs: number; restoreMs: number } {
  let checkpointMs = 0;
  let restoreMs = 0;
  p.groups.forEach((g, i) => {
    const cost = groupCost(g, p.costs);
    if (!plan.serialized[i]) {
      restoreMs += cost.verifyMs;
      return;
    }
    checkpointMs += cost.checkpointMs;
    restoreMs += cost.loadMs;
  });
  for (const c of plan.rerun) restoreMs += rerunMs(p.cells[c]!, p.costs);
  return { checkpointMs, restoreMs };
}

describe('planWithDeadline', () => {
  it('matches brute force on random sessions: fits whenever possible, bounds hold, gap reported', () => {
    const rng = new Rng(99);
    let compared = 0;
    let exact = 0;
    let cannotFit = 0;
    let worstGap = 0;
    for (let trial = 0; trial < 400; trial++) {
      const p = randomProblem(rng, 8);
      const valid = enumeratePlans(p);
      if (valid.length === 0) continue;
      const all = valid.map((v) => metrics(p, v));
      const minCheckpoint = Math.min(...all.map((m) => m.checkpointMs));
      const maxCheckpoint = Math.max(...all.map((m) => m.checkpointMs));
      const budget = rng.chance(0.15)
        ? minCheckpoint * rng.next()
        : minCheckpoint + (maxCheckpoint - minCheckpoint) * rng.next();
      const fitting = all.filter((m) => m.checkpointMs <= budget);
      const result = planWithDeadline(p, { checkpointBudgetMs: budget });
      const context = `trial ${trial} budget ${budget}: ${JSON.stringify(p)}`;
      // Rounding capacities to 1 µs per node is the only slack.
      const tol = 1e-3 * (p.cells.length + p.groups.length + 1);
      expect(verifyPlan(p, result.plan), context).toEqual([]);
      expect(result.plan.predicted.checkpointMs, context).toBeCloseTo(result.checkpointMs, 9);
      if (fitting.length === 0) {
        cannotFit++;
        expect(result.fits, context).toBe(false);
        expect(result.checkpointMs, context).toBeCloseTo(minCheckpoint, 9);
        expect(result.gapMs).toBeNull();
        continue;
      }
      compared++;
      const optimum = Math.min(...fitting.map((m) => m.restoreMs));
      expect(result.fits, context).toBe(true);
      expect(result.checkpointMs, context).toBeLessThanOrEqual(budget + 1e-9);
      expect(result.restoreMs, context).toBeGreaterThanOrEqual(optimum - tol);
      expect(result.lowerBoundRestoreMs!, context).toBeLessThanOrEqual(optimum + tol);
      expect(result.gapMs, context).toBeCloseTo(result.restoreMs - result.lowerBoundRestoreMs!, 9);
      const gap = result.restoreMs - optimum;
      if (gap <= tol) exact++;
      worstGap = Math.max(worstGap, gap);
    }
    expect(compared).toBeGreaterThan(200);
    expect(cannotFit).toBeGreaterThan(10);
    // Lagrangian plans are not always optimal, but on these sessions they nearly always are.
    expect(exact / compared).toBeGreaterThan(0.9);
    console.info(
      `deadline vs brute force: ${exact}/${compared} optimal, worst gap ${worstGap.toFixed(3)} ms, ${cannotFit} cannot fit`,
    );
  });

  it('returns the unconstrained optimum when it fits (λ = 0, gap 0)', () => {
    const p = problem([cell(1, 60_000, { writes: ['df'] })], [group('g', ['df'], 1000 * MB)]);
    const r = planWithDeadline(p, { checkpointBudgetMs: 30_000 });
    expect(r).toMatchObject({ fits: true, lambda: 0, gapMs: 0, solves: 1 });
    expect(r.plan.serialize).toEqual(['g']);
  });

  it('trades restore time for a checkpoint that fits a spot-eviction notice', () => {
    // Three 2 GB frames (20 s to write each at 100 MB/s, 20 s to load); recomputing costs 25, 40, 90 s.
    const cells = [25_000, 40_000, 90_000].map((ms, i) => cell(i + 1, ms, { writes: [`df${i}`] }));
    const groups = [0, 1, 2].map((i) => group(`g${i}`, [`df${i}`], 2000 * MB));
    const p = problem(cells, groups);
    const unconstrained = planWithDeadline(p, { checkpointBudgetMs: 120_000 });
    expect(unconstrained.plan.serialize).toEqual(['g0', 'g1', 'g2']);
    const r = planWithDeadline(p, { checkpointBudgetMs: 30_000 });
    expect(r.fits).toBe(true);
    expect(r.plan.serialize).toEqual(['g2']);
    expect(r.plan.rerun).toEqual([1, 2]);
    expect(r.checkpointMs).toBeLessThanOrEqual(30_000);
    expect(r.restoreMs).toBeCloseTo(20_000 + 25_000 + 40_000, 0);
    // The plan is optimal, but the certificate is loose: the best dual bound is at λ = 1 (where
    // serializing g1 breaks even), L = 85 s − 1 · (30 s − 20 s) = 75 s. That 10 s is the duality
    // gap of the relaxation, which is why the gap is reported as an upper bound.
    expect(r.lowerBoundRestoreMs).toBeCloseTo(75_000, 0);
    expect(r.gapMs).toBeCloseTo(10_000, 0);
  });

  it('says when nothing fits and returns the fastest checkpoint as best effort', () => {
    // `state` predates recording, so it must be serialized: 5 s of checkpoint at least.
    const p = problem([cell(1, 1, { writes: ['x'] })], [group('g', ['state'], 500 * MB), group('gx', ['x'], 500 * MB)]);
    const r = planWithDeadline(p, { checkpointBudgetMs: 1000 });
    expect(r.fits).toBe(false);
    expect(r.plan.serialize).toEqual(['g']);
    expect(r.checkpointMs).toBeCloseTo(5000, 1);
    expect(r.lowerBoundRestoreMs).toBeNull();
  });
});
