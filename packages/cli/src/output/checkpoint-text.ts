/** The text report of a checkpoint: where it is, its size, and above all what it cannot bring back. */
import { formatBytes, formatMs } from '@nbferry/migrate';
import { describeSignature } from '../keys.js';
import type { CheckpointDocument } from './documents.js';

export function renderCheckpointText(doc: CheckpointDocument, allowLoss: boolean): string {
  const lines: string[] = [];
  if (doc.committed) {
    lines.push(
      `checkpoint ${doc.path}: ${doc.plan.serializedGroups} group(s) saved (${formatBytes(doc.bytes)}), ` +
        `${doc.plan.rerunCells.length} cell(s) to rerun${doc.timings ? `, in ${formatMs(doc.timings.totalMs)}` : ''}`,
    );
    lines.push(`signature: ${describeSignature(doc.signature)}`);
    if (doc.deadlineMissed) lines.push('warning: no plan fits the deadline; the fastest-to-write plan was used');
  }
  if (doc.unrecoverable.length > 0) {
    lines.push(
      doc.committed
        ? `WARNING: this checkpoint cannot bring back ${doc.unrecoverable.length} variable(s)${allowLoss ? ' (accepted with --allow-loss)' : ''}:`
        : `REFUSED: this checkpoint would not bring back ${doc.unrecoverable.length} variable(s); nothing was written and the previous checkpoint is intact:`,
    );
    for (const u of doc.unrecoverable) lines.push(`  ${u.name}: ${u.reason}`);
    if (!doc.committed) lines.push('Recreate them in a recorded cell or delete them, or run again with --allow-loss to checkpoint without them.');
  }
  return `${lines.join('\n')}\n`;
}
