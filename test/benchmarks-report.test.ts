/** The benchmark runner's pure parts: fidelity arithmetic, spreads, summaries, targets, SVG. */
import { describe, expect, it } from 'vitest';
import type { VerificationReport } from '@nbferry/migrate';
import { allLost, compareFingerprints, fidelityRatio, fromVerification, type VariableFingerprint } from '../benchmarks/runner/fidelity.js';
import { percentOver, spread } from '../benchmarks/runner/stats.js';
import { summarizeMethod } from '../benchmarks/runner/summary.js';
import { renderBarChart } from '../benchmarks/runner/svg-chart.js';
import { evaluateTargets } from '../benchmarks/runner/targets.js';
import type { MethodSummary, MethodTrial, NotebookSummary } from '../benchmarks/runner/types.js';

const fp = (digest: string | null, reliable = true): VariableFingerprint => ({ digest, reliable, error: null });

describe('fidelity', () => {
  it('classifies each source variable: equal, different, unverifiable, lost', () => {
    const source = new Map([
      ['a', fp('x')],
      ['b', fp('y')],
      ['c', fp('z', false)],
      ['d', fp('w')],
      ['e', fp('v')],
    ]);
    const target = new Map<string, VariableFingerprint>([
      ['a', fp('x')],
      ['b', fp('other')],
      ['c', fp('z', false)],
      ['e', { digest: null, reliable: false, error: 'not defined' }],
    ]);
    const f = compareFingerprints(source, target);
    // c cannot be fingerprinted in the source: no method could prove it, so it is not judged.
    expect(f).toMatchObject({ total: 5, verifiable: 4, equal: 1, different: 1, unverifiable: 1, lost: 2 });
    expect(fidelityRatio(f)).toBeCloseTo(0.25);
    expect(f.examples).toContain('d: lost');
  });

  it('judges an unfingerprintable variable only when it is lost, and one that lost its fingerprint in the target', () => {
    const source = new Map([
      ['fig', fp(null, false)],
      ['gen', fp(null, false)],
      ['x', fp('x')],
    ]);
    const target = new Map<string, VariableFingerprint>([
      ['fig', fp(null, false)],
      ['x', fp('x', false)],
    ]);
    const f = compareFingerprints(source, target);
    expect(f).toMatchObject({ total: 3, verifiable: 2, equal: 0, unverifiable: 2, lost: 1 });
    expect(fidelityRatio(f)).toBe(0);
  });

  it('a failed session loses everything; an empty namespace is complete', () => {
    expect(allLost(4, 'dump raised')).toMatchObject({ total: 4, verifiable: 4, equal: 0, lost: 4 });
    expect(fidelityRatio(allLost(0, 'x'))).toBe(1);
  });

  it("maps nbferry's verification outcomes", () => {
    const report = {
      variables: [
        { name: 'a', outcome: 'restored', detail: 'loaded' },
        { name: 'b', outcome: 'recomputed-equal', detail: 'rerun' },
        { name: 'c', outcome: 'recomputed-different', detail: 'rerun produced a different value' },
        { name: 'd', outcome: 'lost', detail: 'no plan' },
        { name: 'fig', outcome: 'unverifiable', detail: 'loaded; no content fingerprint' },
        { name: 'gen', outcome: 'lost', detail: 'no plan' },
      ],
    } as unknown as VerificationReport;
    const expected = { a: 'x', b: 'y', c: 'z', d: 'w', fig: null, gen: null };
    expect(fromVerification(report, expected)).toMatchObject({ total: 6, verifiable: 5, equal: 2, different: 1, lost: 2, unverifiable: 1 });
  });
});

describe('spreads', () => {
  it('median and range over present values only', () => {
    expect(spread([3, null, 1, 2, Number.NaN])).toEqual({ median: 2, min: 1, max: 3, n: 3 });
    expect(spread([null, undefined])).toBeNull();
    expect(percentOver(101, 100)).toBeCloseTo(1);
    expect(percentOver(5, 0)).toBeNull();
  });

  it('summarizes a method over repeats, keeping the worst fidelity and failures', () => {
    const run = (ms: number, equal: number, status: MethodTrial['status'] = 'ok'): MethodTrial => ({
      method: 'dill',
      status,
      checkpointMs: ms / 2,
      restoreMs: ms / 2,
      migrationMs: ms,
      bytes: 10,
      fidelity: { total: 4, verifiable: 4, equal, different: 4 - equal, unverifiable: 0, lost: 0, examples: [] },
      notes: [],
      ...(status === 'failed' ? { failure: 'boom' } : {}),
    });
    const s = summarizeMethod('dill', [run(100, 4), run(300, 3), run(200, 4, 'failed')])!;
    expect(s.migrationMs).toEqual({ median: 200, min: 100, max: 300, n: 2 });
    expect(s.worstFidelity?.equal).toBe(3);
    expect(s.failures).toEqual(['boom']);
  });
});

describe('targets', () => {
  const method = (name: MethodSummary['method'], ms: number, fidelityMin = 1, overhead?: number): MethodSummary => ({
    method: name,
    statuses: ['ok'],
    failures: [],
    checkpointMs: null,
    restoreMs: null,
    migrationMs: { median: ms, min: ms, max: ms, n: 1 },
    bytes: null,
    fidelity: { median: fidelityMin, min: fidelityMin, max: fidelityMin, n: 1 },
    worstFidelity: { total: 10, verifiable: 10, equal: Math.round(fidelityMin * 10), different: 0, unverifiable: 0, lost: 0, examples: [] },
    runtimeOverheadPct: overhead === undefined ? null : { median: overhead, min: overhead, max: overhead, n: 1 },
    memoryOverheadPct: overhead === undefined ? null : { median: 1, min: 1, max: 1, n: 1 },
    notes: [],
  });
  const notebook = (name: string, methods: MethodSummary[]): NotebookSummary => ({
    notebook: name,
    dataset: null,
    declaredDeterministic: true,
    unrecordedCellMs: null,
    methods,
  });

  it('compares against the fastest completed baseline and against rerun-all', () => {
    const targets = evaluateTargets([
      notebook('a', [method('nbferry', 10, 1, 0.5), method('rerun-all', 200), method('dill', 40)]),
      notebook('b', [method('nbferry', 30, 0.9, 3), method('rerun-all', 1000), method('dill', 50)]),
    ]);
    const byName = new Map(targets.map((t) => [t.name, t]));
    // Ratios 0.25 and 0.60: the median (0.425) meets the target; b is listed as a miss.
    expect(byName.get('migration time vs best baseline')).toMatchObject({ met: true, misses: ['b (0.60× dill)'] });
    expect(byName.get('migration time vs rerun-all')?.met).toBe(true);
    expect(byName.get('fidelity where rerun-all is deterministic')).toMatchObject({ met: false, misses: ['b (9/10)'] });
    expect(byName.get('recording overhead, median')).toMatchObject({ measured: '1.75%', met: false });
    expect(byName.get('recording overhead, worst notebook')?.misses).toEqual(['b (3.00%)']);
  });
});

describe('svg chart', () => {
  it('draws one bar per present value and a marker for a missing one', () => {
    const svg = renderBarChart({
      title: 'T <1>',
      categories: ['n1', 'n2'],
      series: [{ name: 's', color: '#000', values: [1, null], missing: [null, 'failed'] }],
      scale: 'log',
      tick: String,
    });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('T &lt;1&gt;');
    expect(svg.match(/<rect x="250" y="\d+" width="[\d.]+" height="6"/g)?.length).toBe(1);
    expect(svg).toContain('× failed');
  });
});
