/** How the extension writes sizes, ages, ETAs and deadlines: short, and the same everywhere. */

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB'] as const;

/** Decimal units (1 kB = 1000 B), three significant digits: 0 B, 999 B, 1.00 kB, 12.3 MB, 456 GB. */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes) || bytes < 0) return '?';
  if (bytes < 999.5) return `${Math.round(bytes)} B`;
  let unit = 0;
  let scaled = bytes;
  // Compare after rounding, so 999 999 B reads 1.00 MB rather than 1.00e+3 kB.
  while (unit < UNITS.length - 1 && Number(scaled.toPrecision(3)) >= 1000) {
    unit += 1;
    scaled /= 1000;
  }
  const digits = Number(scaled.toPrecision(3)) >= 1000 ? scaled.toFixed(0) : scaled.toPrecision(3);
  return `${digits} ${UNITS[unit]}`;
}

/** "just now", "42 s ago", "5 min ago", "3 h ago", "2 d ago"; a time in the future reads "just now". */
export function formatAge(fromIso: string | null | undefined, nowMs: number): string {
  const then = fromIso ? Date.parse(fromIso) : Number.NaN;
  if (!Number.isFinite(then)) return 'never';
  const seconds = Math.floor((nowMs - then) / 1000);
  if (seconds < 5) return 'just now';
  if (seconds < 60) return `${seconds} s ago`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ago`;
  return `${Math.floor(hours / 24)} d ago`;
}

/** A duration in whole units: "8 s", "3 min 20 s", "2 h 5 min". */
export function formatDuration(totalSeconds: number): string {
  const s = Math.max(0, Math.round(totalSeconds));
  if (s < 60) return `${s} s`;
  const minutes = Math.floor(s / 60);
  if (minutes < 60) return s % 60 === 0 ? `${minutes} min` : `${minutes} min ${s % 60} s`;
  const hours = Math.floor(minutes / 60);
  return minutes % 60 === 0 ? `${hours} h` : `${hours} h ${minutes % 60} min`;
}

/** "in 4 min 10 s" before a deadline, "passed" after it, "" without one. */
export function formatDeadline(deadlineIso: string | null, nowMs: number): string {
  if (deadlineIso === null) return '';
  const at = Date.parse(deadlineIso);
  if (!Number.isFinite(at)) return '';
  const left = (at - nowMs) / 1000;
  return left <= 0 ? 'passed' : `in ${formatDuration(left)}`;
}

/** The first line of a cell's source, cut to fit a row. */
export function firstLineOf(source: string | null | undefined, max = 60): string {
  const line = (source ?? '').split('\n', 1)[0]!.trim();
  return line.length <= max ? line : `${line.slice(0, max - 1)}…`;
}
