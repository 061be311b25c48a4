/** Human-readable migration reports for the CLI and logs. */
export { formatBytes, formatMs } from '@nbferry/planner';
import type { VerificationReport } from './verification.js';

export function renderVerification(report: VerificationReport): string {
  const width = Math.max(8, ...report.variables.map((v) => v.name.length));
  const lines = report.variables.map((v) => `  ${v.name.padEnd(width)}  ${v.outcome.padEnd(20)}  ${v.detail}`);
  const t = report.totals;
  lines.push(
    '',
    `  ${report.variables.length} variables: ${t.restored} restored, ${t['recomputed-equal']} recomputed-equal, ` +
      `${t['recomputed-different']} recomputed-different, ${t.unverifiable} unverifiable, ${t.lost} lost`,
  );
  return lines.join('\n');
}
