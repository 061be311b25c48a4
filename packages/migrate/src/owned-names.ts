/** The names a restore owns in its target, and removing them again (a restart, an abort). */
import type { CallOptions, KernelClient } from '@nbferry/kernel';
import type { PlanningProblem } from '@nbferry/planner';
import { internalCode } from '@nbferry/recorder';

/** Every name a restore of `problem` may bind or delete: its groups' names, and what its cells write or delete. */
export function ownedNames(problem: PlanningProblem): Set<string> {
  const names = new Set<string>();
  for (const group of problem.groups) for (const name of group.names) names.add(name);
  for (const cell of problem.cells) for (const name of [...cell.writes, ...cell.deletes]) names.add(name);
  return names;
}

/** Removes `names` from the target's namespace; names it does not bind are skipped. */
export async function deleteNames(target: KernelClient, names: Iterable<string>, call: CallOptions): Promise<void> {
  const list = [...names];
  if (list.length === 0) return;
  const code = `for __n in ${JSON.stringify(list)}:\n    get_ipython().user_ns.pop(__n, None)\ndel __n`;
  await target.execute(internalCode(code), { ...call, silent: true, storeHistory: false });
}
