/** The history panel's rows: one per checkpoint, newest first, labelled by the cell that made it. */
import type { HistoryEntry } from './api-types.js';
import { firstLineOf, formatAge, formatBytes } from './format.js';

export interface TimelineRow {
  id: string;
  parent: string | null;
  /** The checkpoint the store's head points at (the service's `latest`, else the newest one). */
  head: boolean;
  /** "[3] df = load()" for a cell, else what made it ("checkpoint now", "auto"…). */
  label: string;
  age: string;
  /** "+1.20 MB of 12.0 MB". */
  bytes: string;
  changed: string;
  changedNames: string[];
  /** The service's word that this checkpoint is damaged; '' when it is fine. */
  error: string;
}

const TRIGGER_LABELS: Record<string, string> = {
  api: 'checkpoint now',
  auto: 'after a cell',
  notice: 'before a cull or eviction',
  memory: 'memory near its limit',
};

export function rowLabel(e: HistoryEntry): string {
  if (e.cell !== null) {
    const count = e.cell.executionCount === null ? '[ ]' : `[${e.cell.executionCount}]`;
    const line = firstLineOf(e.cell.firstLine);
    return line === '' ? `${count} (empty first line)` : `${count} ${line}`;
  }
  return e.trigger === null ? 'checkpoint' : (TRIGGER_LABELS[e.trigger] ?? e.trigger);
}

export function changedText(names: readonly string[] | null, max = 4): string {
  if (names === null) return '';
  if (names.length === 0) return 'nothing changed';
  const shown = names.slice(0, max).join(', ');
  return names.length > max ? `${shown} +${names.length - max} more` : shown;
}

function bytesText(e: HistoryEntry): string {
  if (e.bytesWritten === null && e.totalBytes === null) return '';
  if (e.bytesWritten === null) return formatBytes(e.totalBytes);
  if (e.totalBytes === null) return `+${formatBytes(e.bytesWritten)}`;
  return `+${formatBytes(e.bytesWritten)} of ${formatBytes(e.totalBytes)}`;
}

/**
 * Rows newest first. The service sends newest first already; entries with a time are re-sorted by
 * it (stably) in case a store merged two kernels' logs, entries without one keep their place after them.
 */
export function buildTimeline(entries: readonly HistoryEntry[], nowMs: number): TimelineRow[] {
  const seen = new Set<string>();
  const unique = entries.filter((e) => !seen.has(e.id) && seen.add(e.id));
  const time = (e: HistoryEntry): number => {
    const t = e.created === null ? Number.NaN : Date.parse(e.created);
    return Number.isFinite(t) ? t : Number.NEGATIVE_INFINITY;
  };
  const sorted = unique
    .map((e, index) => ({ e, index, t: time(e) }))
    .sort((a, b) => (b.t === a.t ? a.index - b.index : b.t > a.t ? 1 : -1))
    .map(({ e }) => e);
  const flagged = sorted.findIndex((e) => e.latest === true);
  const headIndex = flagged === -1 ? 0 : flagged;
  return sorted.map((e, i) => ({
    id: e.id,
    parent: e.parent,
    head: i === headIndex,
    label: rowLabel(e),
    age: formatAge(e.created, nowMs),
    bytes: bytesText(e),
    changed: changedText(e.changed),
    changedNames: e.changed ?? [],
    error: e.error ?? '',
  }));
}

/** The checkpoint "undo last cell" goes back to: the head's parent, when there is one. */
export function undoTarget(rows: readonly TimelineRow[]): string | null {
  return rows.find((r) => r.head)?.parent ?? null;
}
