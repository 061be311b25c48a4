import { describe, expect, it } from 'vitest';
import { planReplication } from './plan.js';
import { cell, group, MB, problem } from './testing/builders.js';
import { verifyPlan } from './verify.js';

describe('whole-plan check: a restore is never predicted slower than rerunning what is needed', () => {
  // 0: a = load()   1: u = gen(a); b = 1   2: b = 2        groups {a, b} (1 MB = 10 ms load), {u} unserializable
  // u forces cell 1, which reads a and rebinds b: a saved {a, b} is loaded before it and again after
  // it (2 × 10 ms), which the min-cut counts once (10 ms < 5 + 10 ms of reruns).
  const session = problem(
    [
      cell(0, 5, { writes: ['a'] }),
      cell(1, 1, { reads: ['a'], writes: ['u', 'b'] }),
      cell(2, 10, { writes: ['b'] }),
    ],
    [group('ab', ['a', 'b'], 1 * MB), group('u', ['u'], 0, { serializable: false, reason: 'generator' })],
  );

  it('returns the load-nothing plan when the min-cut plan pays extra loads that make it slower', () => {
    const minCut = planReplication(session, { wholePlanCheck: false });
    expect(minCut.serialize).toEqual(['ab']);
    expect(minCut.predicted.extraLoads).toBe(1);
    expect(minCut.predicted.restoreMs).toBeCloseTo(21, 3);

    const plan = planReplication(session);
    expect(verifyPlan(session, plan)).toEqual([]);
    expect(plan.solver.chosen).toBe('recompute-all');
    expect(plan.serialize).toEqual([]);
    expect(plan.rerun).toEqual([0, 1, 2]);
    expect(plan.predicted.restoreMs).toBeCloseTo(16, 3);
    expect(plan.warnings.join('\n')).toMatch(/extra loads/);
  });

  it('recomputes only the group it would load twice when rerunning everything costs more', () => {
    // As above, plus 3: w = slow() (1 s), cheap to load: rerunning everything would rerun it too.
    const withSlow = problem(
      [...session.cells, cell(3, 1000, { writes: ['w'] })],
      [...session.groups, group('w', ['w'], 0.01 * MB)],
    );
    expect(planReplication(withSlow, { wholePlanCheck: false }).predicted.extraLoads).toBe(1);
    const plan = planReplication(withSlow);
    expect(verifyPlan(withSlow, plan)).toEqual([]);
    expect(plan.solver.chosen).toBe('min-cut-without-reloads');
    expect(plan.serialize).toEqual(['w']);
    expect(plan.rerun).toEqual([0, 1, 2]);
    expect(plan.predicted.extraLoads).toBe(0);
    expect(plan.predicted.restoreMs).toBeCloseTo(16.1, 3);
    expect(plan.warnings.join('\n')).toMatch(/recomputing the groups it would load twice/);
  });

  it('keeps the min-cut plan when loading stays cheaper with its extra loads counted', () => {
    const cheapLoad = { ...session, groups: [group('ab', ['a', 'b'], 0.2 * MB), session.groups[1]!] };
    const plan = planReplication(cheapLoad);
    expect(plan.solver.chosen).toBeUndefined();
    expect(plan.serialize).toEqual(['ab']);
    expect(plan.predicted.restoreMs).toBeCloseTo(5, 3);
  });
});

describe('an unserializable group reruns only its own cells when their inputs can be loaded', () => {
  it('loads the inputs its writers read at their saved versions: nothing upstream of them reruns', () => {
    // 1: raw = read() (30 s)   2: df = clean(raw) (20 s)   3: fig = plot(df); cursor = Cursor(fig) (0.1 s)
    // 4: fig.suptitle(title) (0.1 s, reads fig, cursor)   {fig, cursor} unserializable (a weakref outside it)
    const session = problem(
      [
        cell(1, 30_000, { writes: ['raw'] }),
        cell(2, 20_000, { reads: ['raw'], writes: ['df'] }),
        cell(3, 100, { reads: ['df'], writes: ['fig', 'cursor'] }),
        cell(4, 100, { reads: ['fig', 'cursor'], writes: ['fig', 'cursor'] }),
      ],
      [
        group('raw', ['raw'], 5 * MB),
        group('df', ['df'], 5 * MB),
        group('fig', ['fig', 'cursor'], 0, { serializable: false, reason: 'weakref to an object outside its group' }),
      ],
    );
    const plan = planReplication(session);
    expect(verifyPlan(session, plan)).toEqual([]);
    expect(plan.rerun).toEqual([3, 4]);
    expect(plan.serialize).toEqual(['raw', 'df']);
    expect(plan.program.findIndex((s) => s.kind === 'load' && s.group === 'df')).toBeLessThan(
      plan.program.findIndex((s) => s.kind === 'run' && s.cell === 3),
    );
  });
});
