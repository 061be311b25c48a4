/** Renders checkpoint/restore progress on stderr: one rewritten line on a terminal, plain lines otherwise. */
import type { ProgressEvent } from '@nbferry/migrate';
import { formatBytes } from '@nbferry/migrate';

export function progressLine(prefix: string, enabled = true): (event: ProgressEvent) => void {
  const tty = process.stderr.isTTY;
  return (event) => {
    if (!enabled) return;
    const text = `${prefix}: ${describe(event)}`;
    if (tty) process.stderr.write(`\r\x1b[2K${text}`);
    else process.stderr.write(`${text}\n`);
  };
}

export function endProgress(): void {
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[2K');
}

function describe(event: ProgressEvent): string {
  switch (event.phase) {
    case 'save':
      return `saving ${event.groups} group${event.groups === 1 ? '' : 's'} (${formatBytes(event.bytes)})`;
    case 'load':
      return `[${bar(event.index, event.total)}] loading ${event.names.join(', ')}`;
    case 'run':
      return `[${bar(event.index, event.total)}] rerunning cell ${event.cell}: ${event.label}`;
    case 'fallback':
      return `fallback: ${event.reason}`;
    default:
      return `${event.phase}…`;
  }
}

function bar(index: number, total: number, width = 20): string {
  const done = Math.round(((index + 1) / Math.max(total, 1)) * width);
  return `${'#'.repeat(done)}${'.'.repeat(width - done)}`;
}
