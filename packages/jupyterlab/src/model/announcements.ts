/** Which announcements (cull, eviction, move…) to show as notifications, once each, and how. */
import type { Announcement } from './api-types.js';
import { formatDeadline } from './format.js';

/** Those about every kernel (kernels null) or about one of the kernels this browser shows. */
export function relevant(list: readonly Announcement[], jupyterKernelIds: ReadonlySet<string>): Announcement[] {
  return list.filter((a) => a.kernels === null || a.kernels.some((k) => jupyterKernelIds.has(k)));
}

/**
 * The announcements to notify now: relevant, not notified before, and not past their deadline
 * (a warning after the cull helps nobody). Returns them and the updated set of seen ids.
 */
export function toNotify(
  list: readonly Announcement[],
  jupyterKernelIds: ReadonlySet<string>,
  seen: ReadonlySet<string>,
  nowMs: number,
): { notify: Announcement[]; seen: Set<string> } {
  const next = new Set(seen);
  const notify: Announcement[] = [];
  for (const a of relevant(list, jupyterKernelIds)) {
    if (next.has(a.id)) continue;
    next.add(a.id);
    const deadline = a.deadline === null ? Number.NaN : Date.parse(a.deadline);
    if (Number.isFinite(deadline) && deadline <= nowMs) continue;
    notify.push(a);
  }
  return { notify, seen: next };
}

export interface NotificationView {
  type: 'error' | 'warning' | 'info';
  message: string;
  /** Milliseconds before it closes by itself, or false: a deadline stays until dismissed. */
  autoClose: number | false;
}

const HEADS: Record<Announcement['kind'], string> = {
  cull: 'This server will be culled',
  eviction: 'This kernel will be evicted',
  move: 'This kernel is being moved',
  info: 'nbferry',
};

export function notificationView(a: Announcement, nowMs: number): NotificationView {
  const when = formatDeadline(a.deadline, nowMs);
  const head = when === '' ? HEADS[a.kind] : `${HEADS[a.kind]} ${when}`;
  const type = a.kind === 'eviction' || a.kind === 'cull' ? (a.kind === 'eviction' ? 'error' : 'warning') : 'info';
  return { type, message: `${head}: ${a.message}`, autoClose: a.deadline === null && type === 'info' ? 8000 : false };
}
