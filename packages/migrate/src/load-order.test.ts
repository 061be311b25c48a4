import { describe, expect, it } from 'vitest';
import type { RestoreStep } from '@nbferry/planner';
import { loadsSmallestFirst, smallestFirst } from './load-order.js';

const load = (group: string): RestoreStep => ({ kind: 'load', group, names: [group] });
const run = (cell: number): RestoreStep => ({ kind: 'run', cell });

describe('load order', () => {
  it('orders each run of consecutive loads smallest first and leaves the reruns where they are', () => {
    const bytes: Record<string, number> = { big: 300, mid: 20, small: 1, other: 20 };
    const program = [load('big'), load('small'), run(1), load('mid'), run(2), load('big'), load('other'), load('mid'), load('small')];
    expect(loadsSmallestFirst(program, (g) => bytes[g]!)).toEqual([
      load('small'), load('big'), run(1), load('mid'), run(2), load('small'), load('other'), load('mid'), load('big'),
    ]);
  });

  it('keeps equal sizes in their order', () => {
    const items = [{ id: 'a', bytes: 5 }, { id: 'b', bytes: 1 }, { id: 'c', bytes: 5 }, { id: 'd', bytes: 1 }];
    expect(smallestFirst(items).map((i) => i.id)).toEqual(['b', 'd', 'a', 'c']);
  });
});
