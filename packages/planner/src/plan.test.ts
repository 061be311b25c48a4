import { describe, expect, it } from 'vitest';
import { InvalidProblemError, NoValidPlanError } from './errors.js';
import { planReplication } from './plan.js';
import type { PlanningProblem } from './problem.js';
import { cell, group, MB, problem } from './testing/builders.js';
import { verifyPlan } from './verify.js';

function planOf(p: PlanningProblem) {
  const plan = planReplication(p);
  expect(verifyPlan(p, plan)).toEqual([]);
  return plan;
}

function noPlanReasons(p: PlanningProblem): { name: string; reason: string }[] {
  try {
    planReplication(p);
  } catch (error) {
    expect(error).toBeInstanceOf(NoValidPlanError);
    return (error as NoValidPlanError).variables.map(({ name, reason }) => ({ name, reason }));
  }
  throw new Error('expected NoValidPlanError');
}

describe('planReplication: semantics on hand-written sessions', () => {
  it('saves what a forced nondeterministic rerun would draw again, and feeds later reruns the saved value', () => {
    // 1: big = urandom(...); gen = (x for x in big)   2: total = big.sum()   3: it = iter(big)
    const cells = [
      cell(1, 10, { writes: ['big', 'gen'], nondeterministic: true }),
      cell(2, 10, { reads: ['big'], writes: ['total'] }),
      cell(3, 10, { reads: ['big'], writes: ['it'] }),
    ];
    const groups = [
      group('gbig', ['big'], 1000 * MB),
      group('ggen', ['gen'], 0, { serializable: false, reason: 'generator' }),
      group('gtotal', ['total'], 1000 * MB),
      group('git', ['it'], 0, { serializable: false, reason: 'iterator' }),
    ];
    const plan = planOf(problem(cells, groups));
    // Cell 1 must run (gen), but big comes back from the checkpoint, loaded after cell 1 drew new
    // bytes and before cells 2 and 3 read it: gen is the only value of the new draw.
    expect(plan.serialize).toContain('gbig');
    // total is recomputed from the loaded (original) big: consistent with it.
    expect(plan.program).toEqual([
      { kind: 'run', cell: 1 },
      { kind: 'load', group: 'gbig', names: ['big'] },
      { kind: 'run', cell: 2 },
      { kind: 'run', cell: 3 },
    ]);
    expect(plan.groups.find((g) => g.id === 'gbig')!.reason).toMatch(/nondeterministic/);
  });

  it('recomputes an in-place-mutated variable by rerunning its whole chain, not just the last writer', () => {
    // 1: df = read_csv(...)   2: df['a'] += 1
    const cells = [cell(1, 500, { writes: ['df'] }), cell(2, 10, { reads: ['df'], writes: ['df'] })];
    const cheap = planOf(problem(cells, [group('gdf', ['df'], 1000 * MB)]));
    expect(cheap.serialize).toEqual([]);
    expect(cheap.rerun).toEqual([1, 2]);
    expect(cheap.program).toEqual([
      { kind: 'run', cell: 1 },
      { kind: 'run', cell: 2 },
    ]);
    // Loading 1000 MB at 100 MB/s takes 10 s; reading the CSV again takes 60 s.
    cells[0] = cell(1, 60_000, { writes: ['df'] });
    const costly = planOf(problem(cells, [group('gdf', ['df'], 1000 * MB)]));
    expect(costly.serialize).toEqual(['gdf']);
    expect(costly.rerun).toEqual([]);
    expect(costly.predicted.restoreMs).toBeCloseTo(10_000, 2);
    expect(costly.variables[0]!.reason).toMatch(/^loaded from group gdf: load 10 s beats rerunning cells 1 and 2/);
  });

  it('reruns the writer of an overwritten input, then reloads the variable the rerun clobbered', () => {
    // 1: x = 1   2: y = f(x) (unserializable)   3: x = expensive()
    const p = problem(
      [cell(1, 1, { writes: ['x'] }), cell(2, 50, { reads: ['x'], writes: ['y'] }), cell(3, 1000, { writes: ['x'] })],
      [group('gx', ['x'], 1 * MB), group('gy', ['y'], 10, { serializable: false, reason: 'generator' })],
    );
    const plan = planOf(p);
    expect(plan.serialize).toEqual(['gx']);
    expect(plan.rerun).toEqual([1, 2]);
    expect(plan.program).toEqual([
      { kind: 'run', cell: 1 },
      { kind: 'run', cell: 2 },
      { kind: 'load', group: 'gx', names: ['x'] },
    ]);
    expect(plan.variables.find((v) => v.name === 'y')!.reason).toBe(
      'recomputed by rerunning cell 2: unserializable (generator); rerun cells 1 and 2 (51 ms)',
    );
    // With a cheap cell 3, x is recomputed too and nothing is loaded.
    const cheaper = planOf({ ...p, cells: [p.cells[0]!, p.cells[1]!, cell(3, 1, { writes: ['x'] })] });
    expect(cheaper.rerun).toEqual([1, 2, 3]);
    expect(cheaper.serialize).toEqual([]);
  });

  it('serializes variables of unknown provenance and loads them before the reruns that read them', () => {
    // w existed before recording began; 1: z = g(w)
    const plan = planOf(
      problem([cell(1, 100, { reads: ['w'], writes: ['z'] })], [group('gw', ['w'], 100 * MB), group('gz', ['z'], 500 * MB)]),
    );
    expect(plan.program).toEqual([
      { kind: 'load', group: 'gw', names: ['w'] },
      { kind: 'run', cell: 1 },
    ]);
    expect(plan.groups[0]!.reason).toBe('w has unknown provenance (it existed before recording began)');
    expect(plan.variables.find((v) => v.name === 'w')!.producedBy).toBeNull();
  });

  it('keeps shared-reference groups together and loads them in one step', () => {
    // 1: a = np.zeros(...)   2: b = a[:, :2]  (a view: a and b share memory)
    const cells = [cell(1, 150, { writes: ['a'] }), cell(2, 1, { reads: ['a'], writes: ['b'] })];
    const plan = planOf(problem(cells, [group('gab', ['a', 'b'], 10 * MB)]));
    expect(plan.program).toEqual([{ kind: 'load', group: 'gab', names: ['a', 'b'] }]);
    expect(plan.variables.map((v) => v.decision)).toEqual(['serialize', 'serialize']);
    const cheap = planOf(problem([cell(1, 50, { writes: ['a'] }), cells[1]!], [group('gab', ['a', 'b'], 10 * MB)]));
    expect(cheap.rerun).toEqual([1, 2]);
    expect(cheap.variables.map((v) => v.decision)).toEqual(['recompute', 'recompute']);
  });

  it('avoids rerunning side-effect and nondeterministic cells even when cheaper', () => {
    const cells = [
      cell(1, 5, { writes: ['data'], sideEffects: true }),
      cell(2, 5, { writes: ['noise'], nondeterministic: true }),
    ];
    const plan = planOf(problem(cells, [group('gd', ['data'], 100 * MB), group('gn', ['noise'], 100 * MB)]));
    expect(plan.rerun).toEqual([]);
    expect(plan.serialize).toEqual(['gd', 'gn']);
    expect(plan.groups.map((g) => g.reason)).toEqual([
      'cannot be recomputed: cell 1 has side effects',
      'cannot be recomputed: cell 2 is nondeterministic',
    ]);
    expect(plan.warnings).toEqual([]);
  });

  it('reruns a side-effect cell when an unserializable variable needs it, and says so', () => {
    // 1: data = download() (side effects)   2: it = iter(data)   3: data = None
    const p = problem(
      [
        cell(1, 5, { writes: ['data'], sideEffects: true }),
        cell(2, 1, { reads: ['data'], writes: ['it'] }),
        cell(3, 1, { writes: ['data'] }),
      ],
      [group('gd', ['data'], 100 * MB), group('git', ['it'], 0, { serializable: false })],
    );
    const plan = planOf(p);
    expect(plan.rerun).toEqual([1, 2, 3]);
    expect(plan.warnings).toEqual(['cell 1 has side effects but is rerun: nothing else can reproduce it (unserializable)']);
    // Without the overwrite, `it` reads the active `data`, which is loaded: no risky rerun.
    const safer = planOf({ ...p, cells: p.cells.slice(0, 2) });
    expect(safer.rerun).toEqual([2]);
    expect(safer.program).toEqual([
      { kind: 'load', group: 'gd', names: ['data'] },
      { kind: 'run', cell: 2 },
    ]);
    expect(safer.warnings).toEqual([]);
  });

  it('never reruns cells that only produced since-deleted variables, and reports stray names', () => {
    // 1: tmp = load()  2: y = f(tmp) (unserializable)  3: del tmp  4: junk = 1  5: del junk
    const p = problem(
      [
        cell(1, 10, { writes: ['tmp'] }),
        cell(2, 10, { reads: ['tmp'], writes: ['y'] }),
        cell(3, 1, { deletes: ['tmp'] }),
        cell(4, 1, { writes: ['junk'] }),
        cell(5, 1, { deletes: ['junk'] }),
      ],
      [group('gy', ['y'], 0, { serializable: false })],
    );
    const plan = planOf(p);
    expect(plan.rerun).toEqual([1, 2]);
    expect(plan.strayNames).toEqual(['tmp']);
    // Nothing is free to decide: the network is just source and sink.
    expect(plan.solver.nodes).toBe(2);
  });

  it('shrinks the network to cells some free variable can need', () => {
    const cells = [
      cell(1, 10, { writes: ['a'] }),
      cell(2, 10, { reads: ['a'], writes: ['b'] }),
      cell(3, 10, { writes: ['unused'] }),
      cell(4, 10, { deletes: ['unused'] }),
    ];
    const plan = planOf(problem(cells, [group('gb', ['b'], 1 * MB)]));
    // s, t, group gb, cell 2 and its prerequisite cell 1 (cells 3 and 4 are dropped);
    // edges gb→t, s→1, s→2, 2→gb (writer), 1→2 (prerequisite).
    expect(plan.solver.nodes).toBe(5);
    expect(plan.solver.edges).toBe(5);
  });

  it('reloads a group when a rerun needs part of it before other reruns overwrite the rest', () => {
    // g = {x, m} share memory at checkpoint. 1: m = A  2: x = X  3: z = f(m, x) (unserializable)  4: m = B
    const p = problem(
      [
        cell(1, 1, { writes: ['m'] }),
        cell(2, 10_000, { writes: ['x'] }),
        cell(3, 1, { reads: ['m', 'x'], writes: ['z'] }),
        cell(4, 10_000, { writes: ['m'] }),
      ],
      [group('g', ['x', 'm'], 1 * MB), group('gz', ['z'], 0, { serializable: false })],
    );
    const plan = planOf(p);
    expect(plan.program).toEqual([
      { kind: 'run', cell: 1 },
      { kind: 'load', group: 'g', names: ['x'] },
      { kind: 'run', cell: 3 },
      { kind: 'load', group: 'g', names: ['x', 'm'] },
    ]);
    expect(plan.predicted.extraLoads).toBe(1);
    expect(plan.predicted.restoreMs).toBeCloseTo(2 + 2 * 10, 2);
    expect(plan.warnings).toContain('group g is loaded 2 times: reruns overwrite names of it after an early load');
  });

  it('follows the objective and the target speed', () => {
    // 1 GB: write 10 s + load 10 s at 100 MB/s; recomputing takes 15 s on the source machine.
    const p = (objective: 'restore' | 'migration' | 'bytes', targetSpeedFactor = 1) =>
      problem([cell(1, 15_000, { writes: ['big'] })], [group('g', ['big'], 1000 * MB)], { objective, targetSpeedFactor });
    expect(planOf(p('restore')).serialize).toEqual(['g']);
    expect(planOf(p('migration')).serialize).toEqual([]);
    expect(planOf(p('bytes')).serialize).toEqual([]);
    expect(planOf(p('restore', 2)).serialize).toEqual([]);
    const migration = planOf(p('migration'));
    expect(migration.predicted).toMatchObject({ checkpointMs: 0, restoreMs: 15_000, migrationMs: 15_000, bytes: 0 });
    const restore = planOf(p('restore'));
    expect(restore.predicted.checkpointMs).toBeCloseTo(10_000, 2);
    expect(restore.predicted.bytes).toBe(1000 * MB);
  });

  it('uses measured serialize and load times when the shim provides them', () => {
    const p = problem([cell(1, 300, { writes: ['m'] })], [group('g', ['m'], 1 * MB, { serializeMs: 100, loadMs: 400 })]);
    const plan = planOf(p);
    // load = 400 ms measured + 10 ms read > 300 ms rerun.
    expect(plan.serialize).toEqual([]);
    expect(plan.groups[0]!.loadMs).toBeCloseTo(410, 2);
  });
});

describe('planReplication: impossible plans and bad input', () => {
  it('names an unserializable variable of unknown provenance', () => {
    const reasons = noPlanReasons(problem([], [group('g', ['gen'], 0, { serializable: false, reason: 'generator' })]));
    expect(reasons).toEqual([
      { name: 'gen', reason: 'unserializable (generator) and existed before recording began (unknown provenance)' },
    ]);
  });

  it('names unserializable variables whose producing cell failed or cannot be replayed, following the chain', () => {
    const p = problem(
      [
        cell(1, 1, { writes: ['conn'], success: false }),
        cell(2, 1, { writes: ['x'], replayable: false }),
        cell(3, 1, { reads: ['x'], writes: ['it'] }),
        cell(4, 1, { writes: ['x'] }),
      ],
      [
        group('gc', ['conn'], 0, { serializable: false }),
        group('git', ['it'], 0, { serializable: false }),
        group('gx', ['x'], 10),
      ],
    );
    expect(noPlanReasons(p)).toEqual([
      { name: 'conn', reason: 'unserializable, and its producing cell 1 failed' },
      { name: 'it', reason: 'unserializable, and its producing cell 3 needs x from cell 2, cell 2 cannot be replayed' },
    ]);
  });

  it('names a variable re-created outside the recorded history', () => {
    const p = problem([cell(1, 1, { writes: ['h'] }), cell(2, 1, { deletes: ['h'] })], [
      group('g', ['h'], 0, { serializable: false }),
    ]);
    expect(noPlanReasons(p)[0]!.reason).toBe('unserializable and was re-created outside the recorded history');
  });

  it('rejects malformed problems with every issue listed', () => {
    const p = problem([cell(1, 1), cell(1, -5)], [group('g', ['a'], 1), group('g', ['a'], Number.NaN)], {
      targetSpeedFactor: 0,
    });
    expect(() => planReplication(p)).toThrow(InvalidProblemError);
    try {
      planReplication(p);
    } catch (error) {
      expect((error as InvalidProblemError).issues).toEqual([
        'cell id 1 is used twice',
        'cell 1 has an invalid runtimeMs',
        'group id g is used twice',
        'variable a is in groups g and g',
        'group g has invalid bytes',
        'costs.targetSpeedFactor must be a positive number',
      ]);
    }
  });
});
