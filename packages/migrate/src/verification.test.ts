import { describe, expect, it } from 'vitest';
import { verify } from './verification.js';

describe('verify', () => {
  it('classifies every expected variable and never counts a missing one as restored', () => {
    const report = verify({
      expected: new Map<string, string | null>([
        ['loaded', 'h1'],
        ['rerun_same', 'h2'],
        ['rerun_other', 'h3'],
        ['opaque', null],
        ['missing', 'h5'],
        ['loaded_changed', 'h6'],
      ]),
      actual: new Map<string, string | null>([
        ['loaded', 'h1'],
        ['rerun_same', 'h2'],
        ['rerun_other', 'zz'],
        ['opaque', 'h4'],
        ['loaded_changed', 'h7'],
        ['extra', 'h8'],
      ]),
      method: new Map([
        ['loaded', 'load'],
        ['rerun_same', 'rerun'],
        ['rerun_other', 'rerun'],
        ['opaque', 'rerun'],
        ['missing', 'rerun'],
        ['loaded_changed', 'load'],
      ] as const),
      failures: new Map([['missing', 'rerunning cell 4 failed (FileNotFoundError: data.csv)']]),
    });
    expect(report.variables.map((v) => [v.name, v.outcome])).toEqual([
      ['loaded', 'restored'],
      ['loaded_changed', 'unverifiable'],
      ['missing', 'lost'],
      ['opaque', 'unverifiable'],
      ['rerun_other', 'recomputed-different'],
      ['rerun_same', 'recomputed-equal'],
    ]);
    expect(report.variables.find((v) => v.name === 'missing')!.detail).toMatch(/FileNotFoundError/);
    expect(report.totals).toEqual({ restored: 1, 'recomputed-equal': 1, 'recomputed-different': 1, unverifiable: 2, lost: 1 });
    expect(report.ok).toBe(false);
  });

  it('is ok when nothing is lost', () => {
    const report = verify({
      expected: new Map([['a', 'x']]),
      actual: new Map([['a', 'x']]),
      method: new Map([['a', 'load']] as const),
      failures: new Map(),
    });
    expect(report.ok).toBe(true);
  });

  it('is not ok when a rerun brought a variable back different, unless the caller accepts it', () => {
    const input = {
      expected: new Map([['a', 'x'], ['stamp', 't1']]),
      actual: new Map([['a', 'x'], ['stamp', 't2']]),
      method: new Map([['a', 'load'], ['stamp', 'rerun']] as const),
      failures: new Map<string, string>(),
    };
    expect(verify(input).ok).toBe(false);
    expect(verify({ ...input, allowRecomputedDifferent: true }).ok).toBe(true);
  });

  it('counts a proven load as restored without its fingerprint, but never a missing one or a rerun', () => {
    const report = verify({
      expected: new Map<string, string | null>([
        ['proven', 'h1'],
        ['proven_missing', 'h2'],
        ['proven_but_rerun', 'h3'],
        ['opaque', null],
      ]),
      actual: new Map<string, string | null>([
        ['proven', null],
        ['proven_but_rerun', 'zz'],
        ['opaque', null],
      ]),
      method: new Map([
        ['proven', 'load'],
        ['proven_missing', 'load'],
        ['proven_but_rerun', 'rerun'],
        ['opaque', 'load'],
      ] as const),
      failures: new Map(),
      proven: new Set(['proven', 'proven_missing', 'proven_but_rerun', 'opaque']),
    });
    expect(report.variables.map((v) => [v.name, v.outcome])).toEqual([
      ['opaque', 'unverifiable'],
      ['proven', 'restored'],
      ['proven_but_rerun', 'recomputed-different'],
      ['proven_missing', 'lost'],
    ]);
    expect(report.variables.find((v) => v.name === 'proven')!.detail).toMatch(/checksum ok, unpickled/);
  });
});
