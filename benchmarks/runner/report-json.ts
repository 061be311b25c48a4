/** The machine-readable result: settings, environment, targets, summaries and every raw trial. */
import type { BenchArgs } from './args.js';
import type { RunEnvironment } from './environment.js';
import type { TargetResult } from './targets.js';
import type { NotebookSummary, NotebookTrial } from './types.js';

export interface BenchReport {
  settings: Omit<BenchArgs, 'out' | 'fromJson'> & { kishu: string };
  environment: RunEnvironment;
  durationSec: number;
  targets: TargetResult[];
  notebooks: NotebookSummary[];
  trials: NotebookTrial[];
}

export function reportJson(report: BenchReport): string {
  // NaN (an unknown value) is written as null, as JSON has no NaN.
  return `${JSON.stringify(report, (_key, value: unknown) => (typeof value === 'number' && !Number.isFinite(value) ? null : value), 2)}\n`;
}
