/** Human-readable durations and sizes for reasons and tables. */
export function formatMs(ms: number): string {
  if (ms < 10) return `${Math.round(ms * 100) / 100} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${Math.round(ms / 10) / 100} s`;
  return `${Math.round(ms / 6000) / 10} min`;
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${Number(value.toFixed(1))} ${units[unit]}`;
}

/** "cell 3", "cells 3, 5 and 8", "cells 3, 5, 8 and 12 more". */
export function formatCells(ids: readonly number[], max = 4): string {
  if (ids.length === 1) return `cell ${ids[0]}`;
  const shown = ids.slice(0, max).join(', ');
  if (ids.length > max) return `cells ${shown} and ${ids.length - max} more`;
  return `cells ${ids.slice(0, -1).join(', ')} and ${ids[ids.length - 1]}`;
}
