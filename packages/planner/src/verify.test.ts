import { describe, expect, it } from 'vitest';
import { planReplication } from './plan.js';
import type { ReplicationPlan } from './replication-plan.js';
import { cell, group, MB, problem } from './testing/builders.js';
import { verifyPlan } from './verify.js';

// 1: x = 1   2: y = f(x) (unserializable)   3: x = expensive()   4: log(y) (side effects)
const session = problem(
  [
    cell(1, 1, { writes: ['x'] }),
    cell(2, 50, { reads: ['x'], writes: ['y'] }),
    cell(3, 1000, { writes: ['x'] }),
    cell(4, 1, { reads: ['y'], sideEffects: true }),
  ],
  [group('gx', ['x'], 1 * MB), group('gy', ['y'], 10, { serializable: false })],
);

describe('verifyPlan (the oracle used by the property tests must itself catch broken plans)', () => {
  const plan = planReplication(session);
  const broken = (change: (p: ReplicationPlan) => void): string[] => {
    const copy = structuredClone(plan);
    change(copy);
    return verifyPlan(session, copy);
  };

  it('accepts the planner output', () => {
    expect(plan.program.map((s) => s.kind)).toEqual(['run', 'run', 'load']);
    expect(verifyPlan(session, plan)).toEqual([]);
  });

  it('rejects a missing final load, a rerun without its prerequisite, and runs out of order', () => {
    expect(broken((p) => p.program.pop())).toEqual(['x ends as c0, not c2', 'serialized group gx is not loaded whole after its last overwrite']);
    expect(
      broken((p) => {
        p.program.shift();
        p.rerun.shift();
      }),
    ).toEqual(['cell 2 needs x@c0 but finds nothing']);
    expect(
      broken((p) => {
        p.program = [p.program[1]!, p.program[0]!, p.program[2]!];
        p.rerun = [2, 1];
      }),
    ).toEqual(['cell 2 needs x@c0 but finds nothing', 'reruns are not in session order']);
  });

  it('rejects serializing an unserializable group, partial final loads and silent risky reruns', () => {
    expect(broken((p) => p.serialize.push('gy'))).toContain('unserializable group gy is serialized');
    expect(
      broken((p) => {
        p.program[2] = { kind: 'load', group: 'gx', names: [] };
      }),
    ).toContain('serialized group gx is not loaded whole after its last overwrite');
    expect(
      broken((p) => {
        p.program.push({ kind: 'run', cell: 4 });
        p.rerun.push(4);
      }),
    ).toEqual(['risky cell 4 is rerun without a warning']);
  });
});
