/**
 * Smallest groups first, where order is free: a pipelined restore loads each group once the source
 * has stored it, so the source saves the small groups first and the target loads them in that
 * order. Most variables are then in place early and the biggest blob streams last, instead of every
 * small group waiting behind it.
 */
import type { RestoreStep } from '@nbferry/planner';

/** Group ids, smallest first (a stable sort: equal sizes keep their order). */
export function smallestFirst<T extends { bytes: number }>(items: readonly T[]): T[] {
  return items
    .map((item, i) => ({ item, i }))
    .sort((a, b) => a.item.bytes - b.item.bytes || a.i - b.i)
    .map(({ item }) => item);
}

/**
 * The program with each run of consecutive loads ordered smallest first. Loads next to each other
 * bind different names (a reload of the same group comes after a rerun), so their order is free;
 * reruns stay where they are.
 */
export function loadsSmallestFirst(program: readonly RestoreStep[], bytesOf: (group: string) => number): RestoreStep[] {
  const out: RestoreStep[] = [];
  let run: (RestoreStep & { kind: 'load' })[] = [];
  const flush = () => {
    out.push(...smallestFirst(run.map((step) => ({ step, bytes: bytesOf(step.group) }))).map(({ step }) => step));
    run = [];
  };
  for (const step of program) {
    if (step.kind === 'load') {
      run.push(step);
      continue;
    }
    flush();
    out.push(step);
  }
  flush();
  return out;
}
