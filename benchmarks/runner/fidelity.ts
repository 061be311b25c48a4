/**
 * Fidelity: per source variable, did the same content come back? Compares content fingerprints
 * taken by nbferry's shim (`fingerprint` op) in the source and the target kernel; for nbferry
 * itself, its own verification report (which compares the same fingerprints) is mapped over.
 */
import type { VerificationReport } from '@nbferry/migrate';
import type { Fidelity } from './types.js';

export interface VariableFingerprint {
  digest: string | null;
  reliable: boolean;
  error: string | null;
}

const MAX_EXAMPLES = 6;

export function compareFingerprints(
  source: ReadonlyMap<string, VariableFingerprint>,
  target: ReadonlyMap<string, VariableFingerprint>,
): Fidelity {
  const fidelity = emptyFidelity(source.size);
  for (const [name, expected] of [...source].sort(([a], [b]) => a.localeCompare(b))) {
    const actual = target.get(name);
    const checkable = expected.reliable && expected.digest !== null;
    if (!actual || actual.error === 'not defined') {
      fidelity.verifiable += 1;
      note(fidelity, 'lost', `${name}: lost`);
    } else if (!checkable) {
      note(fidelity, 'unverifiable', `${name}: no content fingerprint in the source`);
    } else if (!actual.reliable || actual.digest === null) {
      fidelity.verifiable += 1;
      note(fidelity, 'unverifiable', `${name}: no content fingerprint after the restore`);
    } else if (expected.digest === actual.digest) {
      fidelity.verifiable += 1;
      fidelity.equal += 1;
    } else {
      fidelity.verifiable += 1;
      note(fidelity, 'different', `${name}: different value`);
    }
  }
  return fidelity;
}

/** Everything lost: a method that brought back nothing (a failed session). */
export function allLost(total: number, reason: string): Fidelity {
  return { ...emptyFidelity(total), verifiable: total, lost: total, examples: total > 0 ? [`all ${total}: ${reason}`] : [] };
}

/** `expected`: the fingerprints the checkpoint took in the source (null: none possible). */
export function fromVerification(report: VerificationReport, expected: Readonly<Record<string, string | null>>): Fidelity {
  const fidelity = emptyFidelity(report.variables.length);
  for (const variable of report.variables) {
    if (expected[variable.name] != null || variable.outcome === 'lost') fidelity.verifiable += 1;
    switch (variable.outcome) {
      case 'restored':
      case 'recomputed-equal':
        fidelity.equal += 1;
        break;
      case 'recomputed-different':
        note(fidelity, 'different', `${variable.name}: ${variable.detail}`);
        break;
      case 'unverifiable':
        note(fidelity, 'unverifiable', `${variable.name}: ${variable.detail}`);
        break;
      case 'lost':
        note(fidelity, 'lost', `${variable.name}: lost (${variable.detail})`);
        break;
    }
  }
  return fidelity;
}

export function fidelityRatio(fidelity: Fidelity): number {
  return fidelity.verifiable === 0 ? 1 : fidelity.equal / fidelity.verifiable;
}

function emptyFidelity(total: number): Fidelity {
  return { total, verifiable: 0, equal: 0, different: 0, unverifiable: 0, lost: 0, examples: [] };
}

function note(fidelity: Fidelity, kind: 'different' | 'unverifiable' | 'lost', example: string): void {
  fidelity[kind] += 1;
  if (fidelity.examples.length < MAX_EXAMPLES) fidelity.examples.push(example.slice(0, 160));
}
