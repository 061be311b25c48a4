/** Median and range over repeats. */
import { median } from '../stats.js';
import type { Spread } from './types.js';

export function spread(values: readonly (number | null | undefined)[]): Spread | null {
  const present = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  if (present.length === 0) return null;
  return { median: median(present), min: Math.min(...present), max: Math.max(...present), n: present.length };
}

/** (recorded - baseline) / baseline in percent; null when either is unknown or the baseline is 0. */
export function percentOver(recorded: number | null | undefined, baseline: number | null | undefined): number | null {
  if (recorded == null || baseline == null || baseline <= 0) return null;
  return ((recorded - baseline) / baseline) * 100;
}
