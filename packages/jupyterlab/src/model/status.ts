/**
 * The status item's state: the latest kernel poll merged with the plan of its last checkpoint.
 * A failed poll keeps what was last known (marked stale) instead of blanking the status.
 */
import type { KernelState, Plan, Unsaveable } from './api-types.js';
import { formatAge, formatBytes } from './format.js';

export interface StatusSnapshot {
  /** The nbferry kernel id once attached; null before (or when attaching failed). */
  nbferryId: string | null;
  kernel: KernelState | null;
  plan: Plan | null;
  /** The last poll's or attach's error message; null when the last poll succeeded. */
  error: string | null;
  updatedAtMs: number | null;
}

export const EMPTY_STATUS: StatusSnapshot = { nbferryId: null, kernel: null, plan: null, error: null, updatedAtMs: null };

export function applyAttached(s: StatusSnapshot, nbferryId: string): StatusSnapshot {
  return s.nbferryId === nbferryId ? { ...s, error: null } : { ...EMPTY_STATUS, nbferryId };
}

export function applyKernelPoll(s: StatusSnapshot, kernel: KernelState, atMs: number): StatusSnapshot {
  const checkpointId = kernel.lastCheckpoint?.id ?? null;
  // A plan belongs to one checkpoint: drop it once the kernel has moved on to another.
  const plan = s.plan !== null && s.plan.checkpointId === checkpointId ? s.plan : null;
  return { ...s, kernel, plan, error: null, updatedAtMs: atMs };
}

export function applyPlan(s: StatusSnapshot, plan: Plan): StatusSnapshot {
  return { ...s, plan };
}

export function applyError(s: StatusSnapshot, message: string): StatusSnapshot {
  return { ...s, error: message };
}

/** Whether the plan should be (re)fetched: there is a checkpoint and no plan for it yet. */
export function needsPlan(s: StatusSnapshot): boolean {
  const id = s.kernel?.lastCheckpoint?.id;
  return id !== undefined && (s.plan === null || s.plan.checkpointId !== id);
}

export type StatusLevel = 'detached' | 'unprotected' | 'protected' | 'at-risk' | 'stale';

export interface StatusView {
  level: StatusLevel;
  /** The short text of the status bar. */
  label: string;
  /** The tooltip: the same, spelled out. */
  title: string;
  recompute: string[];
  lost: Unsaveable[];
}

/** Variables the last checkpoint cannot bring back: from the kernel state, the checkpoint and the plan, once each. */
export function lostVariables(s: StatusSnapshot): Unsaveable[] {
  const byName = new Map<string, Unsaveable>();
  const add = (u: Unsaveable): void => {
    const known = byName.get(u.name);
    if (!known || (known.reason === '' && u.reason !== '')) byName.set(u.name, u);
  };
  s.kernel?.unsaveable?.forEach(add);
  s.kernel?.lastCheckpoint?.unrecoverable?.forEach(add);
  s.plan?.unsaveable.forEach(add);
  s.plan?.variables.filter((v) => v.decision === 'lost').forEach((v) => add({ name: v.name, reason: v.reason ?? '' }));
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
}

export function describeStatus(s: StatusSnapshot, nowMs: number): StatusView {
  const recompute = (s.plan?.variables ?? []).filter((v) => v.decision === 'recompute').map((v) => v.name).sort();
  const lost = lostVariables(s);
  if (s.kernel === null) {
    const label = s.error !== null ? 'nbferry: unavailable' : 'nbferry: not attached';
    return { level: 'detached', label, title: s.error ?? 'nbferry is not watching this kernel yet', recompute, lost };
  }
  const last = s.kernel.lastCheckpoint;
  const isProtected = s.kernel.protected ?? last !== undefined;
  const parts: string[] = [];
  if (last) parts.push(formatAge(last.createdAt, nowMs), formatBytes(last.totalBytes ?? last.newBytes));
  if (recompute.length > 0) parts.push(`${recompute.length} recomputed`);
  if (lost.length > 0) parts.push(`${lost.length} lost`);
  let level: StatusLevel = isProtected ? (lost.length > 0 ? 'at-risk' : 'protected') : 'unprotected';
  if (s.error !== null) level = 'stale';
  const head = isProtected ? 'protected' : 'not protected';
  const label = ['nbferry: ' + head, ...parts].join(' · ');
  const titleLines = [
    isProtected ? 'This kernel has a checkpoint nbferry can restore.' : 'No checkpoint yet: a crash would lose this kernel\'s state.',
  ];
  if (last) titleLines.push(`Last checkpoint ${formatAge(last.createdAt, nowMs)}, ${formatBytes(last.totalBytes ?? last.newBytes)}.`);
  if (recompute.length + lost.length > 0) {
    titleLines.push(`${recompute.length} variable(s) recomputed on restore, ${lost.length} cannot be brought back (click for the list).`);
  }
  if (s.error !== null) titleLines.push(`Not up to date: ${s.error}`);
  return { level, label, title: titleLines.join('\n'), recompute, lost };
}
