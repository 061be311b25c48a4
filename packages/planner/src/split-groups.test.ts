import { describe, expect, it } from 'vitest';
import { NoValidPlanError } from './errors.js';
import { planReplication } from './plan.js';
import type { PlanningProblem, VariableGroup } from './problem.js';
import { keepingSplitsSafe, unsafeSplits } from './split-groups.js';
import { cell, group, MB, problem } from './testing/builders.js';
import { randomProblem } from './testing/random-problem.js';
import { Rng } from './testing/rng.js';
import { verifyPlan } from './verify.js';

function planSafely(p: PlanningProblem) {
  return keepingSplitsSafe(p, (q) => planReplication(q), (plan) => plan);
}

describe('split groups', () => {
  // 1: rows = np.random.rand(...) (slow, unseeded)   2: state = {"rows": rows, "lock": Lock()}
  const halves = (): VariableGroup[] => [
    group('g0', ['state'], 0, { serializable: false, reason: 'lock', splitOf: 'g0' }),
    group('g0-saveable', ['rows'], 10 * MB, { splitOf: 'g0' }),
  ];

  it('loads the saveable half and reruns only the cell that made the other from it', () => {
    const cells = [
      cell(1, 1000, { writes: ['rows'], nondeterministic: true }),
      cell(2, 5, { reads: ['rows'], writes: ['state'] }),
    ];
    const { result: plan, problem: planned } = planSafely(problem(cells, halves()));
    expect(planned.groups.map((g) => g.id)).toEqual(['g0', 'g0-saveable']);
    expect(plan.serialize).toEqual(['g0-saveable']);
    expect(plan.program).toEqual([
      { kind: 'load', group: 'g0-saveable', names: ['rows'] },
      { kind: 'run', cell: 2 },
    ]);
    expect(verifyPlan(planned, plan)).toEqual([]);
  });

  it('merges the halves back when the rerun for one would rebind the other', () => {
    // 1: rows = np.random.rand(...); state = {"rows": rows, "lock": Lock()}: rerunning 1 for state
    // draws new rows, and loading the saved ones after it would leave state holding the new draw.
    const cells = [cell(1, 1000, { writes: ['rows', 'state'], nondeterministic: true }), cell(2, 5, { reads: ['rows'], writes: ['total'] })];
    const split = problem(cells, [...halves(), group('g1', ['total'], 10)]);
    const unsafe = planReplication(split);
    expect(unsafeSplits(split, unsafe)).toEqual(new Map([['g0', new Set(['rows'])]]));
    expect(verifyPlan(split, unsafe).join()).toMatch(/rebinds g0-saveable, loaded apart from the rest of g0/);

    const { result: plan, problem: planned } = planSafely(split);
    const merged = planned.groups.find((g) => g.id === 'g0')!;
    expect(merged).toMatchObject({ names: ['state', 'rows'], serializable: false });
    expect(merged.reason).toBe('lock; rows shares objects with it and must be recomputed with it');
    expect(plan.rerun).toContain(1);
    expect(plan.serialize).not.toContain('g0-saveable');
    expect(verifyPlan(planned, plan)).toEqual([]);
  });

  it('recomputes with the unsaveable half the saveable names its reruns rebind, and loads the rest', () => {
    // 1: rows = np.random.rand(...) (unseeded)   2: class Holder: ...; h = Holder(rows) (a generator inside)
    const cells = [
      cell(1, 1000, { writes: ['rows'], nondeterministic: true }),
      cell(2, 5, { reads: ['rows'], writes: ['Holder', 'h'] }),
    ];
    const groups = [
      group('g0', ['h'], 0, { serializable: false, reason: 'generator', splitOf: 'g0' }),
      group('g0-saveable', ['Holder', 'rows'], 10 * MB, { splitOf: 'g0' }),
    ];
    const { result: plan, problem: planned } = planSafely(problem(cells, groups));
    expect(planned.groups).toEqual([
      { ...groups[0], names: ['h', 'Holder'], reason: 'generator; Holder shares objects with it and must be recomputed with it' },
      { ...groups[1], names: ['rows'] },
    ]);
    expect(plan.program).toEqual([
      { kind: 'load', group: 'g0-saveable', names: ['rows'] },
      { kind: 'run', cell: 2 },
    ]);
    expect(verifyPlan(planned, plan)).toEqual([]);
  });

  it('does not load a saveable name that was made from the unsaveable half', () => {
    // 1: h = Holder(np.random.rand(...)) (a generator inside)   2: data = slow_copy_of(h.data)
    const cells = [cell(1, 1000, { writes: ['h'], nondeterministic: true }), cell(2, 1000, { reads: ['h'], writes: ['data'] })];
    const groups = [
      group('g0', ['h'], 0, { serializable: false, reason: 'generator', splitOf: 'g0' }),
      group('g0-saveable', ['data'], 1 * MB, { splitOf: 'g0' }),
    ];
    const split = problem(cells, groups);
    expect(verifyPlan(split, planReplication(split)).join()).toMatch(/cell 2 wrote g0-saveable from a recomputed part of g0/);
    const { result: plan, problem: planned } = planSafely(split);
    expect(planned.groups.map((g) => [g.id, g.names])).toEqual([['g0', ['h', 'data']]]);
    expect(plan.rerun).toEqual([1, 2]);
    expect(verifyPlan(planned, plan)).toEqual([]);
  });

  it('on random sessions with split groups, returns executable plans whose loaded halves keep the shared objects', () => {
    const rng = new Rng(417);
    let splitKept = 0;
    let rebalanced = 0;
    for (let trial = 0; trial < 1500; trial++) {
      const original = randomProblem(rng, 10, 0.9);
      const split = splitSome(original, rng);
      const context = `trial ${trial}: ${JSON.stringify(split)}`;
      let outcome;
      try {
        outcome = planSafely(split);
      } catch (error) {
        expect(error, context).toBeInstanceOf(NoValidPlanError);
        continue;
      }
      const { result: plan, problem: planned } = outcome;
      expect(verifyPlan(planned, plan), context).toEqual([]);
      expect(unsafeSplits(planned, plan).size, context).toBe(0);
      expect(planned.groups.flatMap((g) => g.names).sort(), context).toEqual(split.groups.flatMap((g) => g.names).sort());
      if (JSON.stringify(planned.groups) !== JSON.stringify(split.groups)) rebalanced++;
      const decisions = new Map(plan.groups.map((g) => [g.id, g.decision]));
      const families = new Set(planned.groups.flatMap((g) => (g.splitOf ? [g.splitOf] : [])));
      for (const family of families) {
        const kinds = new Set(planned.groups.filter((g) => g.splitOf === family).map((g) => decisions.get(g.id)));
        if (kinds.size === 2) splitKept++;
      }
    }
    // Both outcomes must occur, or the test proves little.
    expect(splitKept).toBeGreaterThan(25);
    expect(rebalanced).toBeGreaterThan(15);
  });
});

/**
 * Splits some multi-name groups into a saveable half and an unserializable one, and makes some
 * cells writing a split name draw unseeded randomness (their reruns would be followed by a load of
 * the saved half: the unsafe case).
 */
function splitSome(p: PlanningProblem, rng: Rng): PlanningProblem {
  const groups = p.groups.flatMap((g): VariableGroup[] => {
    if (g.names.length < 2 || !rng.chance(0.7)) return [g];
    const cut = rng.int(1, g.names.length - 1);
    return [
      { id: g.id, names: g.names.slice(0, cut), serializable: false, reason: 'generator', bytes: 0, splitOf: g.id },
      { ...g, id: `${g.id}-saveable`, names: g.names.slice(cut), serializable: true, splitOf: g.id },
    ];
  });
  const split = new Set(groups.flatMap((g) => (g.splitOf ? g.names : [])));
  const cells = p.cells.map((c) => (c.writes.some((n) => split.has(n)) && rng.chance(0.3) ? { ...c, nondeterministic: true } : c));
  return { ...p, cells, groups };
}
