import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildTimeline, changedText, rowLabel, undoTarget } from './timeline.js';
import { entry } from './test-fixtures.js';

const NOW = Date.parse('2026-12-03T12:00:00Z');

describe('rowLabel', () => {
  it('labels a checkpoint by its cell, else by what made it', () => {
    expect(rowLabel(entry('a', { cell: { executionCount: 3, firstLine: 'df = load()\nmore' } }))).toBe('[3] df = load()');
    expect(rowLabel(entry('a', { cell: { executionCount: null, firstLine: '' } }))).toBe('[ ] (empty first line)');
    expect(rowLabel(entry('a', { trigger: 'api' }))).toBe('checkpoint now');
    expect(rowLabel(entry('a', { trigger: 'something-new' }))).toBe('something-new');
    expect(rowLabel(entry('a'))).toBe('checkpoint');
  });
});

describe('changedText', () => {
  it('lists a few names and counts the rest', () => {
    expect(changedText(null)).toBe('');
    expect(changedText([])).toBe('nothing changed');
    expect(changedText(['a', 'b'])).toBe('a, b');
    expect(changedText(['a', 'b', 'c', 'd', 'e', 'f'])).toBe('a, b, c, d +2 more');
  });
});

describe('buildTimeline', () => {
  it('puts the newest first, marks the head and writes bytes and ages', () => {
    const rows = buildTimeline(
      [
        entry('c1', { created: '2026-12-03T11:50:00Z', bytesWritten: 5000, totalBytes: 5000, cell: { executionCount: 1, firstLine: 'import x' } }),
        entry('c2', { created: '2026-12-03T11:59:30Z', parent: 'c1', bytesWritten: 1200, totalBytes: 6200, changed: ['df'] }),
      ],
      NOW,
    );
    expect(rows.map((r) => r.id)).toEqual(['c2', 'c1']);
    expect(rows[0]).toMatchObject({ head: true, bytes: '+1.20 kB of 6.20 kB', age: '30 s ago', changed: 'df' });
    expect(rows[1]).toMatchObject({ head: false, label: '[1] import x', age: '10 min ago' });
    expect(undoTarget(rows)).toBe('c1');
  });

  it('follows the service’s latest flag for the head after an undo', () => {
    const rows = buildTimeline(
      [
        entry('c3', { created: '2026-12-03T11:59:00Z', parent: 'c2', latest: false }),
        entry('c2', { created: '2026-12-03T11:58:00Z', parent: 'c1', latest: true }),
        entry('c1', { created: '2026-12-03T11:57:00Z', latest: false }),
      ],
      NOW,
    );
    expect(rows.filter((r) => r.head).map((r) => r.id)).toEqual(['c2']);
    expect(undoTarget(rows)).toBe('c1');
  });

  it('has nothing to undo with one checkpoint or none', () => {
    expect(undoTarget(buildTimeline([entry('only')], NOW))).toBeNull();
    expect(undoTarget([])).toBeNull();
  });

  it('keeps each checkpoint once, newest first, entries without a time last in their order (property)', () => {
    const arbEntry = fc.record({
      id: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g'),
      t: fc.option(fc.integer({ min: 0, max: 10_000 }), { nil: null }),
    });
    fc.assert(
      fc.property(fc.array(arbEntry, { maxLength: 12 }), (raw) => {
        const entries = raw.map((r) => entry(r.id, { created: r.t === null ? null : new Date(NOW - r.t * 1000).toISOString() }));
        const rows = buildTimeline(entries, NOW);
        const firstOfEach = entries.filter((e, i) => entries.findIndex((x) => x.id === e.id) === i);
        // Each id once.
        expect(rows.map((r) => r.id).sort()).toEqual(firstOfEach.map((e) => e.id).sort());
        // Timed ones newest first (ties in input order), untimed ones after them in input order.
        const timed = firstOfEach.filter((e) => e.created !== null);
        const expected = [
          ...timed
            .map((e, i) => ({ e, i }))
            .sort((x, y) => Date.parse(y.e.created!) - Date.parse(x.e.created!) || x.i - y.i)
            .map((x) => x.e.id),
          ...firstOfEach.filter((e) => e.created === null).map((e) => e.id),
        ];
        expect(rows.map((r) => r.id)).toEqual(expected);
        expect(rows.filter((r) => r.head).length).toBe(rows.length === 0 ? 0 : 1);
      }),
    );
  });
});
