import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PlanDecision, PlanVariable } from './api-types.js';
import { groupPlan, planSummary } from './plan.js';
import { plan } from './test-fixtures.js';

describe('groupPlan', () => {
  it('groups saved, recomputed and lost variables, biggest first, with the service’s reasons', () => {
    const groups = groupPlan(
      plan({
        variables: [
          { name: 'small', decision: 'save', reason: null, bytes: 10, group: null },
          { name: 'big', decision: 'save', reason: 'pickled', bytes: 5_000_000, group: 'g1' },
          { name: 'model', decision: 'recompute', reason: 'cell 3 re-runs in 0.2 s', bytes: 80_000_000, group: null },
          { name: 'gen', decision: 'lost', reason: 'a generator', bytes: null, group: null },
        ],
        unsaveable: [
          { name: 'sock', reason: 'a socket' },
          { name: 'gen', reason: 'duplicate' },
        ],
      }),
    );
    expect(groups.map((g) => g.decision)).toEqual(['save', 'recompute', 'lost']);
    expect(groups[0]!.rows.map((r) => [r.name, r.reason, r.size])).toEqual([
      ['big', 'pickled', '5.00 MB'],
      ['small', 'saved in the checkpoint', '10 B'],
    ]);
    expect(groups[0]!.totalBytes).toBe(5_000_010);
    expect(groups[1]!.rows[0]).toMatchObject({ name: 'model', reason: 'cell 3 re-runs in 0.2 s', size: '80.0 MB' });
    expect(groups[2]!.rows.map((r) => [r.name, r.reason])).toEqual([
      ['gen', 'a generator'],
      ['sock', 'a socket'],
    ]);
    expect(planSummary(groups)).toBe('2 saved (5.00 MB), 1 recomputed (80.0 MB), 2 lost');
  });

  it('puts every name in exactly one group, and group totals add up to the bytes of those rows (property)', () => {
    const decision = fc.constantFrom<PlanDecision>('save', 'recompute', 'lost');
    const variable = fc.record<PlanVariable>({
      name: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'),
      decision,
      reason: fc.option(fc.string(), { nil: null }),
      bytes: fc.option(fc.integer({ min: 0, max: 1e12 }), { nil: null }),
      group: fc.constant(null),
    });
    fc.assert(
      fc.property(fc.array(variable, { maxLength: 10 }), fc.array(fc.constantFrom('a', 'x', 'y'), { maxLength: 3 }), (vars, unsaveable) => {
        const groups = groupPlan(plan({ variables: vars, unsaveable: unsaveable.map((name) => ({ name, reason: '' })) }));
        const names = groups.flatMap((g) => g.rows.map((r) => r.name));
        expect(new Set(names).size).toBe(names.length);
        expect(new Set(names)).toEqual(new Set([...vars.map((v) => v.name), ...unsaveable]));
        for (const g of groups) {
          expect(g.totalBytes).toBe(g.rows.reduce((s, r) => s + (r.bytes ?? 0), 0));
          // The first occurrence of a name decides its group.
          for (const r of g.rows) {
            const first = vars.find((v) => v.name === r.name);
            expect(first ? first.decision : 'lost').toBe(g.decision);
          }
          const sizes = g.rows.map((r) => r.bytes ?? -1);
          expect(sizes).toEqual([...sizes].sort((x, y) => y - x));
        }
      }),
    );
  });
});
