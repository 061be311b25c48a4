import { describe, expect, it } from 'vitest';
import { renderPlanDot, renderPlanText } from './explain.js';
import { planReplication } from './plan.js';
import { cell, group, MB, problem } from './testing/builders.js';

// 1: df = read_csv()  2: model = fit(df)  3: it = iter(df) (unserializable)  4: print(model) (side effects)
const session = problem(
  [
    cell(1, 60_000, { writes: ['df'] }),
    cell(2, 200, { reads: ['df'], writes: ['model'] }),
    cell(3, 1, { reads: ['df'], writes: ['it'] }),
    cell(4, 1, { reads: ['model'], sideEffects: true }),
  ],
  [
    group('g-df', ['df'], 1000 * MB),
    group('g-model', ['model'], 100 * MB),
    group('g-it', ['it'], 0, { serializable: false, reason: 'generator' }),
  ],
);

describe('renderPlanText', () => {
  it('renders a summary, one table row per group with decision and reason, and the restore program', () => {
    const text = renderPlanText(planReplication(session));
    expect(text).toBe(
      [
        'Replication plan (objective: restore)',
        'Predicted: checkpoint 10 s, restore 10.2 s, migration 20.2 s, 1 GB stored',
        'Serialize 1 of 3 groups; rerun 2 of 4 cell executions',
        '',
        'GROUP    VARIABLES  DECISION   CHECKPOINT  RESTORE     BYTES  REASON',
        '-------  ---------  ---------  ----------  ----------  -----  ------',
        'g-df     df         serialize  10 s        10 s        1 GB   load 10 s beats rerunning cell 1 (1 min more)',
        'g-model  model      recompute  -           via cell 2  -      rerun cell 2 (200 ms) beats load 1 s',
        'g-it     it         recompute  -           via cell 3  -      unserializable (generator); rerun cell 3 (1 ms)',
        '',
        'Restore program:',
        '  1. load g-df → df',
        '  2. run cell 2',
        '  3. run cell 3',
        '',
      ].join('\n'),
    );
  });

  it('lists warnings and stray names when there are some', () => {
    const p = problem(
      [cell(1, 5, { writes: ['tmp'], sideEffects: true }), cell(2, 5, { reads: ['tmp'], writes: ['gen'] }), cell(3, 1, { deletes: ['tmp'] })],
      [group('g', ['gen'], 0, { serializable: false })],
    );
    const text = renderPlanText(planReplication(p));
    expect(text).toContain('  then delete: tmp\n');
    expect(text).toContain('Warnings:\n  - cell 1 has side effects but is rerun: nothing else can reproduce gen (unserializable)\n');
  });
});

describe('reasons', () => {
  it('explain that a rerun is worth it when several variables share its cost', () => {
    // 1: base = expensive()  2: a = f(base)  3: b = g(base)  4: del base. Loading a or b: 200 ms each.
    const p = problem(
      [
        cell(1, 300, { writes: ['base'] }),
        cell(2, 1, { reads: ['base'], writes: ['a'] }),
        cell(3, 1, { reads: ['base'], writes: ['b'] }),
        cell(4, 0, { deletes: ['base'] }),
      ],
      [group('ga', ['a'], 20 * MB), group('gb', ['b'], 20 * MB)],
    );
    expect(planReplication(p).groups.map((g) => g.reason)).toEqual([
      'rerun cells 1 and 2 (301 ms, shared with other recomputed variables) beats load 200 ms',
      'rerun cells 1 and 3 (301 ms, shared with other recomputed variables) beats load 200 ms',
    ]);
  });
});

describe('renderPlanDot', () => {
  it('draws serialized groups, rerun cells and the edges between them', () => {
    const dot = renderPlanDot(planReplication(session));
    expect(dot.startsWith('digraph plan {\n')).toBe(true);
    expect(dot.endsWith('}\n')).toBe(true);
    expect(dot).toContain('"g:g-df" [shape=box, style=filled, fillcolor="#cfe3ff", label="df\\nserialize 1 GB"];');
    expect(dot).toContain('"g:g-model" [shape=box, style=dashed, label="model\\nrecompute"];');
    expect(dot).toContain('"c:2" [shape=ellipse');
    expect(dot).toContain('"g:g-df" -> "c:2" [style=dashed];');
    expect(dot).toContain('"c:3" -> "g:g-it";');
    expect(dot).not.toContain('"c:1"');
    expect(dot).not.toContain('"c:4"');
  });
});
