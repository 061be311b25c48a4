/** The plan view's groups: what the last checkpoint saved, what a restore recomputes, what it loses. */
import type { Plan, PlanDecision } from './api-types.js';
import { formatBytes } from './format.js';

export interface PlanRow {
  name: string;
  reason: string;
  bytes: number | null;
  size: string;
  /** Variables the planner keeps together (one object graph, one recompute cell). */
  group: string | null;
}

export interface PlanGroup {
  decision: PlanDecision;
  title: string;
  rows: PlanRow[];
  totalBytes: number;
}

const TITLES: Record<PlanDecision, string> = {
  save: 'Saved',
  recompute: 'Recomputed on restore',
  lost: 'Cannot be brought back',
};

const DEFAULT_REASONS: Record<PlanDecision, string> = {
  save: 'saved in the checkpoint',
  recompute: 'cheaper to re-run its cell than to store it',
  lost: 'neither saved nor recomputable',
};

/** Groups in a fixed order (save, recompute, lost), each biggest first; a name appears once. */
export function groupPlan(plan: Plan): PlanGroup[] {
  const seen = new Set<string>();
  const rows: Record<PlanDecision, PlanRow[]> = { save: [], recompute: [], lost: [] };
  for (const v of plan.variables) {
    if (seen.has(v.name)) continue;
    seen.add(v.name);
    rows[v.decision].push({
      name: v.name,
      reason: v.reason ?? DEFAULT_REASONS[v.decision],
      bytes: v.bytes,
      size: v.bytes === null ? '' : formatBytes(v.bytes),
      group: v.group,
    });
  }
  for (const u of plan.unsaveable) {
    if (seen.has(u.name)) continue;
    seen.add(u.name);
    rows.lost.push({ name: u.name, reason: u.reason || DEFAULT_REASONS.lost, bytes: null, size: '', group: null });
  }
  const decisions: PlanDecision[] = ['save', 'recompute', 'lost'];
  return decisions.map((decision) => {
    const sorted = rows[decision].sort((a, b) => (b.bytes ?? -1) - (a.bytes ?? -1) || a.name.localeCompare(b.name));
    return { decision, title: TITLES[decision], rows: sorted, totalBytes: sorted.reduce((sum, r) => sum + (r.bytes ?? 0), 0) };
  });
}

export function planSummary(groups: readonly PlanGroup[]): string {
  return groups
    .filter((g) => g.rows.length > 0)
    .map((g) => `${g.rows.length} ${g.decision === 'save' ? 'saved' : g.decision === 'recompute' ? 'recomputed' : 'lost'}${g.totalBytes > 0 ? ` (${formatBytes(g.totalBytes)})` : ''}`)
    .join(', ');
}
