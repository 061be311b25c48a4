/**
 * What the JupyterLab panel shows of a kernel, read from its store: the history (one entry per
 * checkpoint, newest first) and the plan its last checkpoint used (per variable: saved, recomputed
 * or lost, why, and its size). Both come from the checkpoints' manifests (history-log.ts, the
 * planner's ReplicationPlan kept in the manifest body), so they survive a restart of the service.
 */
import { log, type CheckpointBody } from '@nbferry/migrate';
import type { CheckpointStore } from '@nbferry/store';

export interface HistoryEntry {
  id: string;
  created: string;
  parent: string | null;
  /** The last cell the checkpoint's state includes (null: none recorded, or unreadable). */
  cell: { executionCount: number | null; firstLine: string } | null;
  /** Bytes this checkpoint added to the store (null: an old format that did not count them). */
  bytesWritten: number | null;
  totalBytes: number;
  /** Variables created, changed or deleted since the parent. */
  changed: string[];
  /** The checkpoint the store's `latest` names. */
  latest: boolean;
  /** Set when the checkpoint could not be read (damaged, untrusted). */
  error: string | null;
}

/** The store's checkpoints, newest first. */
export async function historyOf(store: CheckpointStore): Promise<HistoryEntry[]> {
  const entries = await log(store);
  return entries.reverse().map((e) => ({
    id: e.id,
    created: e.createdAt,
    parent: e.parent ?? null,
    cell: e.error || (e.executionCount === null && e.cell === '') ? null : { executionCount: e.executionCount, firstLine: e.cell },
    bytesWritten: e.newBytes ?? null,
    totalBytes: e.totalBytes,
    changed: e.variablesChanged,
    latest: e.latest,
    error: e.error ?? null,
  }));
}

export type VariableDecision = 'save' | 'recompute' | 'lost';

export interface PlanView {
  checkpointId: string;
  created: string;
  variables: { name: string; decision: VariableDecision; reason: string; bytes: number | null; group: string | null }[];
  unsaveable: { name: string; reason: string }[];
  /** The planner's predictions for that checkpoint (ms, bytes). */
  predicted: { checkpointMs: number; restoreMs: number; bytes: number };
  warnings: string[];
}

/** The plan the checkpoint `id` of the store was written with. */
export async function planOf(store: CheckpointStore, id: string): Promise<PlanView> {
  const { manifest } = await store.open<CheckpointBody>(id);
  const { plan, unrecoverable } = manifest.body;
  const groupBytes = new Map(plan.groups.map((g) => [g.id, g.bytes]));
  // The bytes actually written for a saved group (the plan's are the measured estimate).
  for (const blob of manifest.blobs) groupBytes.set(blob.group, blob.bytes);
  const lost = new Map(unrecoverable.map((u) => [u.name, u.reason]));
  const variables: PlanView['variables'] = plan.variables
    .filter((v) => !lost.has(v.name))
    .map((v) => ({
      name: v.name,
      decision: v.decision === 'serialize' ? 'save' : 'recompute',
      reason: v.reason,
      bytes: groupBytes.get(v.group) ?? null,
      group: v.group,
    }));
  for (const [name, reason] of lost) variables.push({ name, decision: 'lost', reason, bytes: null, group: null });
  variables.sort((a, b) => a.name.localeCompare(b.name));
  return {
    checkpointId: manifest.id,
    created: manifest.createdAt,
    variables,
    unsaveable: unrecoverable,
    predicted: { checkpointMs: Math.round(plan.predicted.checkpointMs), restoreMs: Math.round(plan.predicted.restoreMs), bytes: plan.predicted.bytes },
    warnings: plan.warnings,
  };
}
