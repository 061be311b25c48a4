/**
 * After a restore that loaded one half of a split group and recomputed the other (the planner's
 * split-groups.ts), checks in the target that the group's names still share objects as they did
 * at checkpoint. The plan makes the reruns read the loaded objects, but sharing through something
 * no variable names (a module's global, a cache) is beyond the history: only the target can tell.
 */
import type { CallOptions } from '@nbferry/kernel';
import { splitFamilies, type PlanningProblem, type ReplicationPlan } from '@nbferry/planner';
import type { Recorder } from '@nbferry/recorder';
import { sharedFamilies } from './shim-api.js';

/**
 * Recomputed names of split groups that no longer share objects with their loaded half, with why:
 * their values may compare equal, but a change made through one would not show through the other.
 */
export async function unsharedSplits(recorder: Recorder, problem: PlanningProblem, plan: ReplicationPlan, call: CallOptions): Promise<Map<string, string>> {
  const split = [...splitFamilies(problem, plan).values()].map((f) => ({ loaded: [...f.loaded], recomputed: [...f.recomputed] }));
  const unshared = new Map<string, string>();
  if (split.length === 0) return unshared;
  const connected = await sharedFamilies(recorder, split.map((f) => [...f.loaded, ...f.recomputed]), call);
  split.forEach((family, i) => {
    if (connected[i] !== false) return;
    for (const name of family.recomputed) {
      unshared.set(
        name,
        `rerun, but it no longer shares objects with ${family.loaded.join(', ')} (loaded) as it did at checkpoint: ` +
          'its cells took them from somewhere no variable names; restore with the whole group recomputed if that sharing matters',
      );
    }
  });
  return unshared;
}
