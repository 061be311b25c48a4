/** The response of undo and checkout (same kernel): what came back, what was lost, each variable's verification. */
import type { CheckoutReport, VariableOutcome } from '@nbferry/migrate';

export interface CheckoutOutcome {
  /** Nothing lost and nothing came back different. */
  ok: boolean;
  /** The checkpoint the kernel now holds, and the one it continued before (null: none). */
  checkpointId: string;
  fromCheckpointId: string | null;
  /** Names back as at the checkpoint (loaded, kept, or recomputed), and names deleted (bound only after it). */
  restored: string[];
  deleted: string[];
  lost: { name: string; reason: string }[];
  verification: { name: string; outcome: VariableOutcome; detail: string }[];
  loadedBytes: number;
  keptGroups: number;
  rerunCells: number;
  /** totalMs: the whole operation as the service ran it (the kernel is usable again after it). */
  timings: { totalMs: number; replayMs: number; verifyMs: number };
}

export function checkoutOutcome(report: CheckoutReport, totalMs: number): CheckoutOutcome {
  const variables = report.verification.variables;
  return {
    ok: report.verification.ok,
    checkpointId: report.checkpointId,
    fromCheckpointId: report.fromCheckpointId ?? null,
    restored: variables.filter((v) => v.outcome !== 'lost').map((v) => v.name),
    deleted: report.deleted,
    lost: variables.filter((v) => v.outcome === 'lost').map((v) => ({ name: v.name, reason: v.detail })),
    verification: variables.map((v) => ({ name: v.name, outcome: v.outcome, detail: v.detail })),
    loadedBytes: report.loadedBytes ?? 0,
    keptGroups: report.keptGroups?.length ?? 0,
    rerunCells: report.rerunCells,
    timings: { totalMs: Math.round(totalMs), replayMs: Math.round(report.timings.replayMs), verifyMs: Math.round(report.timings.verifyMs) },
  };
}
