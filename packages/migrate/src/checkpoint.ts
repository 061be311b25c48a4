/**
 * Checkpoint: from a recorded kernel, measure what the plan needs, plan, have the kernel write the
 * chosen groups straight into the store's staging directory, then commit the manifest. The kernel
 * keeps running and its namespace is not changed. A failure discards the new checkpoint only.
 */
import type { CallOptions } from '@nbferry/kernel';
import {
  NoValidPlanError,
  planReplication,
  planWithDeadline,
  type CostSettings,
  type PlanningProblem,
  type ReplicationPlan,
} from '@nbferry/planner';
import type { Recorder } from '@nbferry/recorder';
import type { BlobEntry, LocalStore, StoredCheckpoint } from '@nbferry/store';
import { kernelEnvironment, packagesOf } from './environment.js';
import type { CheckpointBody, CheckpointTimings } from './manifest-body.js';
import { planningProblem } from './planning-problem.js';
import type { ProgressListener } from './progress.js';
import { measure, rngStates, saveToDir, type Measurement, type SavedBlob } from './shim-api.js';

export interface CheckpointOptions extends CallOptions {
  costs?: Partial<CostSettings>;
  /** Deadline mode: the checkpoint must finish within this budget (e.g. a spot eviction notice). */
  deadlineMs?: number;
  onProgress?: ProgressListener;
}

export interface CheckpointResult {
  checkpoint: StoredCheckpoint<CheckpointBody>;
  plan: ReplicationPlan;
  /** Set in deadline mode when no plan fits the budget (the best effort was written). */
  deadlineMissed?: boolean;
  timings: CheckpointTimings;
}

/** Plans, dropping groups that no plan can bring back (they are reported, not silently lost). */
export function planOrDrop(
  problem: PlanningProblem,
  deadlineMs?: number,
): { plan: ReplicationPlan; problem: PlanningProblem; unrecoverable: { name: string; reason: string }[]; deadlineMissed?: boolean } {
  const unrecoverable: { name: string; reason: string }[] = [];
  let current = problem;
  for (;;) {
    try {
      if (deadlineMs === undefined) return { plan: planReplication(current), problem: current, unrecoverable };
      const result = planWithDeadline(current, { checkpointBudgetMs: deadlineMs });
      return { plan: result.plan, problem: current, unrecoverable, deadlineMissed: !result.fits };
    } catch (error) {
      if (!(error instanceof NoValidPlanError)) throw error;
      const dropped = new Set(error.variables.map((v) => v.group));
      unrecoverable.push(...error.variables.map((v) => ({ name: v.name, reason: v.reason })));
      for (const group of current.groups) {
        if (!dropped.has(group.id)) continue;
        for (const name of group.names) {
          if (!unrecoverable.some((u) => u.name === name)) unrecoverable.push({ name, reason: 'shares objects with a variable that cannot be brought back' });
        }
      }
      current = { ...current, groups: current.groups.filter((g) => !dropped.has(g.id)) };
    }
  }
}

export async function checkpoint(recorder: Recorder, store: LocalStore, options: CheckpointOptions = {}): Promise<CheckpointResult> {
  const progress = options.onProgress ?? (() => {});
  const call: CallOptions = { signal: options.signal, timeoutMs: options.timeoutMs };
  const t0 = performance.now();
  progress({ phase: 'sync' });
  await recorder.sync(call);
  const t1 = performance.now();
  progress({ phase: 'measure' });
  const measurement = await measure(recorder, call);
  const t2 = performance.now();
  progress({ phase: 'plan' });
  let problem = planningProblem(recorder.graph.executions, measurement.groups, options.costs);
  let planned = planOrDrop(problem, options.deadlineMs);
  const t3 = performance.now();

  const draft = await store.begin();
  try {
    // Serialize; a group that fails now (measure can miss what only a full pickle hits) is
    // re-planned as unserializable, and any group the new plan adds is saved in turn.
    const saved = new Map<string, SavedBlob>();
    for (;;) {
      const pending = planned.plan.serialize.filter((id) => !saved.has(id));
      if (pending.length === 0) break;
      const names = pending.map((id) => planned.problem.groups.find((g) => g.id === id)!.names as string[]);
      progress({ phase: 'save', groups: pending.length, bytes: sumBytes(planned.problem, pending) });
      const blobs = await saveToDir(recorder, names, draft.blobsDir, call);
      const failed = new Map<string, string>();
      pending.forEach((id, i) => {
        const blob = blobs[i]!;
        if (blob.ok) saved.set(id, blob);
        else failed.set(id, blob.error?.message ?? 'serialization failed');
      });
      if (failed.size === 0) continue;
      problem = {
        ...planned.problem,
        groups: planned.problem.groups.map((g) => (failed.has(g.id) ? { ...g, serializable: false, reason: failed.get(g.id) } : g)),
      };
      const replanned = planOrDrop(problem, options.deadlineMs);
      planned = { ...replanned, unrecoverable: [...planned.unrecoverable, ...replanned.unrecoverable] };
      progress({ phase: 'fallback', reason: `re-planned: ${[...failed.values()].join('; ')}` });
    }
    const t4 = performance.now();

    progress({ phase: 'commit' });
    const kept = planned.plan.serialize.map((id) => ({ id, blob: saved.get(id)! }));
    const blobs: BlobEntry[] = kept.map(({ id, blob }) => ({
      file: blob.file!,
      bytes: blob.bytes!,
      sha256: blob.sha256!,
      group: id,
      variables: blob.names,
    }));
    // Blobs saved for groups a later re-plan chose to recompute are simply not referenced.
    const environment = await kernelEnvironment(recorder.client, savedPackages(measurement, blobs), call);
    const body: CheckpointBody = {
      history: recorder.graph.toJSON(),
      problem: planned.problem,
      plan: planned.plan,
      fingerprints: {
        algo: measurement.algo,
        values: Object.fromEntries(
          Object.entries(measurement.variables).map(([name, v]) => [name, v.reliable ? v.fingerprint : null]),
        ),
      },
      unrecoverable: planned.unrecoverable,
      rng: await rngStates(recorder, planned.plan.rerun, call),
      cwd: recorder.hello.cwd,
      timings: { syncMs: t1 - t0, measureMs: t2 - t1, planMs: t3 - t2, saveMs: t4 - t3, commitMs: 0, totalMs: 0 },
    };
    const committed = await draft.commit<CheckpointBody>({ environment, blobs, body });
    const t5 = performance.now();
    // Timings are final only after the commit; the manifest carries the pre-commit part.
    const timings = { ...body.timings, commitMs: t5 - t4, totalMs: t5 - t0 };
    return { checkpoint: committed, plan: planned.plan, deadlineMissed: planned.deadlineMissed, timings };
  } catch (error) {
    await draft.abort();
    throw error;
  }
}

function sumBytes(problem: PlanningProblem, ids: string[]): number {
  return ids.reduce((sum, id) => sum + (problem.groups.find((g) => g.id === id)?.bytes ?? 0), 0);
}

/** Packages whose objects were saved, plus the pickler: their versions must match at restore. */
function savedPackages(measurement: Measurement, blobs: BlobEntry[]): string[] {
  const modules = blobs.flatMap((b) => b.variables.map((name) => measurement.variables[name]?.module ?? ''));
  return [...new Set([...packagesOf(modules), measurement.pickler].filter((p) => p && p !== 'pickle'))].sort();
}
