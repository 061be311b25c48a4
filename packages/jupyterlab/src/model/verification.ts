/**
 * The verification report shown after a restore, undo, branch or move: one row per variable with
 * what happened to it. Reads the contract's RestoreOutcome-like answer
 * (`{ok, checkpointId, restored, lost, verification, timings}`) and the service's RestoreOutcome
 * (`lost` as names), whichever arrives.
 */
import { isRecord } from './errors.js';

/** As the service says: restored, recomputed-equal, recomputed-different, unverifiable, lost; and deleted. */
export type VariableOutcome = string;

export interface VerificationRow {
  name: string;
  outcome: VariableOutcome;
  detail: string;
}

export interface VerificationReport {
  ok: boolean | null;
  checkpointId: string | null;
  rows: VerificationRow[];
  summary: string;
  /** Milliseconds from the request to a usable kernel, when the service timed it. */
  totalMs: number | null;
}

/** Outcomes that mean the variable is not what it was: they sort first and are never hidden. */
export const BAD_OUTCOMES: ReadonlySet<string> = new Set(['lost', 'recomputed-different', 'mismatch', 'failed']);
const BAD = BAD_OUTCOMES;

export function verificationReport(outcome: unknown): VerificationReport {
  const o = isRecord(outcome) ? outcome : {};
  const rows = new Map<string, VerificationRow>();
  const put = (name: string, outcome: string, detail: string): void => {
    const known = rows.get(name);
    // A bad outcome wins over a good one: the report must never hide a loss.
    if (known && BAD.has(known.outcome) && !BAD.has(outcome)) return;
    rows.set(name, { name, outcome, detail: detail || known?.detail || '' });
  };
  if (Array.isArray(o.restored)) for (const n of o.restored) if (typeof n === 'string') put(n, 'restored', '');
  if (Array.isArray(o.verification)) {
    for (const v of o.verification) {
      if (isRecord(v) && typeof v.name === 'string') {
        put(v.name, typeof v.outcome === 'string' ? v.outcome : 'unknown', typeof v.detail === 'string' ? v.detail : '');
      }
    }
  }
  if (Array.isArray(o.deleted)) {
    for (const n of o.deleted) if (typeof n === 'string') put(n, 'deleted', 'bound after that checkpoint');
  }
  if (Array.isArray(o.lost)) {
    for (const l of o.lost) {
      if (typeof l === 'string') put(l, 'lost', '');
      else if (isRecord(l) && typeof l.name === 'string') put(l.name, 'lost', typeof l.reason === 'string' ? l.reason : '');
    }
  }
  const sorted = [...rows.values()].sort((a, b) => Number(BAD.has(b.outcome)) - Number(BAD.has(a.outcome)) || a.name.localeCompare(b.name));
  const counts = new Map<string, number>();
  for (const r of sorted) counts.set(r.outcome, (counts.get(r.outcome) ?? 0) + 1);
  // The service's RestoreOutcome (a move, a restore from a store) counts instead of listing.
  const totals = isRecord(o.totals)
    ? Object.entries(o.totals).filter((e): e is [string, number] => typeof e[1] === 'number' && e[1] > 0)
    : [];
  const summary =
    sorted.length > 0
      ? [...counts].map(([k, n]) => `${n} ${k}`).join(', ')
      : totals.length > 0
        ? totals.map(([k, n]) => `${n} ${k}`).join(', ')
        : 'no variables reported';
  const timings = isRecord(o.timings) ? o.timings : {};
  const total = typeof timings.totalMs === 'number' ? timings.totalMs : typeof timings.total === 'number' ? timings.total : null;
  return {
    ok: typeof o.ok === 'boolean' ? o.ok : null,
    checkpointId: typeof o.checkpointId === 'string' ? o.checkpointId : null,
    rows: sorted,
    summary,
    totalMs: total,
  };
}
