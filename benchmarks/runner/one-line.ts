/** One line per finished notebook repeat, for the progress log. */
import { fidelityRatio } from './fidelity.js';
import { seconds } from './format.js';
import type { MethodTrial, NotebookTrial } from './types.js';

export function oneLine(trial: NotebookTrial): string {
  const parts = trial.methods.map((m) => `${m.method} ${describe(m)}`);
  const run = Number.isFinite(trial.unrecorded.cellMs) ? seconds(trial.unrecorded.cellMs) : 'failed';
  return `  ${trial.notebook} (run ${run}): ${parts.join(' | ')}`;
}

function describe(m: MethodTrial): string {
  if (m.status === 'not-run' || m.status === 'unavailable') return m.status;
  const time = m.migrationMs === null ? '' : seconds(m.migrationMs);
  const fidelity = m.fidelity ? ` ${Math.round(fidelityRatio(m.fidelity) * 100)}%` : '';
  const failed = m.status === 'failed' ? ` FAILED (${(m.failure ?? '').slice(0, 60)})` : '';
  return `${time}${fidelity}${failed}`.trim();
}
