/**
 * Can a checkpoint be restored in this kernel? Compares the environment recorded at checkpoint with
 * the target's: Python major.minor (pickle and bytecode), and the versions of the packages whose
 * objects were saved. Patch-level Python differences are fine.
 */
import type { Environment } from '@nbferry/store';

export interface Mismatch {
  what: string;
  checkpoint: string;
  target: string;
}

export function compareEnvironments(checkpoint: Environment, target: Environment): Mismatch[] {
  const mismatches: Mismatch[] = [];
  if (minor(checkpoint.python) !== minor(target.python)) {
    mismatches.push({ what: 'python', checkpoint: checkpoint.python, target: target.python });
  }
  for (const [name, version] of Object.entries(checkpoint.packages)) {
    const there = target.packages[name];
    if (there !== version) mismatches.push({ what: name, checkpoint: version, target: there ?? 'not installed' });
  }
  return mismatches;
}

function minor(version: string): string {
  return version.split('.').slice(0, 2).join('.');
}
