import { formatBytes, formatCells, formatMs } from './format.js';
import type { ReplicationPlan } from './replication-plan.js';

const MAX_VARIABLES_WIDTH = 40;

/** The plan as plain text: a summary, a table of groups, the restore program and warnings. */
export function renderPlanText(plan: ReplicationPlan): string {
  const p = plan.predicted;
  const extra = p.extraLoads > 0 ? ` (incl. ${p.extraLoads} extra load${p.extraLoads > 1 ? 's' : ''}, ${formatMs(p.extraLoadMs)})` : '';
  const lines: string[] = [
    `Replication plan (objective: ${plan.objective})`,
    `Predicted: checkpoint ${formatMs(p.checkpointMs)}, restore ${formatMs(p.restoreMs)}${extra}` +
      `, migration ${formatMs(p.migrationMs)}, ${formatBytes(p.bytes)} stored`,
    `Serialize ${plan.serialize.length} of ${plan.groups.length} groups; ` +
      `rerun ${plan.rerun.length} of ${plan.solver.cellsInHistory} cell executions`,
    '',
  ];
  const rows = plan.groups.map((g) => {
    let variables = g.names.join(', ');
    if (variables.length > MAX_VARIABLES_WIDTH) variables = `${variables.slice(0, MAX_VARIABLES_WIDTH - 1)}…`;
    return [
      g.id,
      variables,
      g.decision,
      g.decision === 'serialize' ? formatMs(g.checkpointMs) : '-',
      g.decision === 'serialize'
        ? `${formatMs(g.loadMs * g.loads)}${g.loads > 1 ? ` (${g.loads} loads)` : ''}`
        : `via ${formatCells(g.producedBy)}`,
      g.decision === 'serialize' ? formatBytes(g.bytes) : '-',
      g.reason,
    ];
  });
  lines.push(...table(['GROUP', 'VARIABLES', 'DECISION', 'CHECKPOINT', 'RESTORE', 'BYTES', 'REASON'], rows), '');
  lines.push('Restore program:');
  if (plan.program.length === 0) lines.push('  (nothing to restore)');
  plan.program.forEach((step, i) => {
    lines.push(
      step.kind === 'run' ? `  ${i + 1}. run cell ${step.cell}` : `  ${i + 1}. load ${step.group} → ${step.names.join(', ')}`,
    );
  });
  if (plan.strayNames.length > 0) lines.push(`  then delete: ${plan.strayNames.join(', ')}`);
  if (plan.warnings.length > 0) lines.push('', 'Warnings:', ...plan.warnings.map((w) => `  - ${w}`));
  return `${lines.join('\n')}\n`;
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const rule = widths.map((w, i) => '-'.repeat(i === widths.length - 1 ? header[i]!.length : w));
  return [line(header), line(rule), ...rows.map(line)];
}

const quote = (s: string): string => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/**
 * The plan as Graphviz DOT: serialized groups (filled boxes), recomputed groups (plain boxes),
 * rerun cells (ellipses), and the edges that connect them: prerequisite cell → cell, serialized
 * group → rerun cell that reads it, rerun cell → recomputed group it produces.
 */
export function renderPlanDot(plan: ReplicationPlan): string {
  const lines = ['digraph plan {', '  rankdir=LR;', '  node [fontname="Helvetica", fontsize=10];'];
  for (const g of plan.groups) {
    const label = `${g.names.join(', ')}\\n${g.decision}${g.decision === 'serialize' ? ` ${formatBytes(g.bytes)}` : ''}`;
    const style = g.decision === 'serialize' ? 'style=filled, fillcolor="#cfe3ff"' : 'style=dashed';
    lines.push(`  ${quote(`g:${g.id}`)} [shape=box, ${style}, label="${label.replace(/"/g, '\\"')}"];`);
  }
  for (const id of plan.rerun) {
    lines.push(`  ${quote(`c:${id}`)} [shape=ellipse, style=filled, fillcolor="#ffe6bf", label="cell ${id}"];`);
  }
  for (const [from, to] of plan.dependencies.cellToCell) lines.push(`  ${quote(`c:${from}`)} -> ${quote(`c:${to}`)};`);
  for (const [from, to] of plan.dependencies.groupToCell) {
    lines.push(`  ${quote(`g:${from}`)} -> ${quote(`c:${to}`)} [style=dashed];`);
  }
  for (const [from, to] of plan.dependencies.cellToGroup) lines.push(`  ${quote(`c:${from}`)} -> ${quote(`g:${to}`)};`);
  lines.push('}');
  return `${lines.join('\n')}\n`;
}
