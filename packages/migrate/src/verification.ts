/**
 * Verification: after a restore, every variable that was live at checkpoint is classified by
 * comparing its content fingerprint in the new kernel with the one recorded at checkpoint.
 */

export type VariableOutcome =
  /**
   * Loaded from the checkpoint: its fingerprint matches, or the load proves it (checksum matched,
   * unpickled, types that rebuild exactly: `proven`).
   */
  | 'restored'
  /** Rerun from its cells; its fingerprint matches the original. */
  | 'recomputed-equal'
  /**
   * Rerun from its cells; present, but its value differs from the original (randomness, changed
   * inputs), or it no longer shares objects with a loaded variable as it did.
   */
  | 'recomputed-different'
  /** Present, but it cannot be fingerprinted (or was not at checkpoint), so equality is unknown. */
  | 'unverifiable'
  /** Not present after restore. */
  | 'lost';

export interface VariableReport {
  name: string;
  outcome: VariableOutcome;
  /** How it came back (loaded/rerun) and, for problems, what went wrong. */
  detail: string;
}

export interface VerificationInput {
  /** Fingerprints at checkpoint, by name; null where the variable could not be fingerprinted. */
  expected: ReadonlyMap<string, string | null>;
  /** Fingerprints in the restored kernel; a missing name is absent there. */
  actual: ReadonlyMap<string, string | null>;
  /** How each name was meant to come back. */
  method: ReadonlyMap<string, 'load' | 'rerun'>;
  /** Why a name could not be brought back, where known (failed load, failed rerun, no plan). */
  failures: ReadonlyMap<string, string>;
  /**
   * Names bound last by a load whose blob's checksum matched and which unpickled, of types that
   * pickle faithfully (the shim's faithful.py): that proves the value, so their fingerprint was not
   * taken again (`actual` only says they are present). They count as restored.
   */
  proven?: ReadonlySet<string>;
  /**
   * Rerun names that came back without the objects they shared at checkpoint with loaded names
   * (split-sharing.ts), with why: whatever their content, the state is not the same.
   */
  unshared?: ReadonlyMap<string, string>;
  /**
   * The caller accepts variables that a rerun brought back with a different value (e.g. it knows
   * they are timestamps). Without it they make the report not ok.
   */
  allowRecomputedDifferent?: boolean;
  /**
   * Why nothing in `actual` could be compared (the restored kernel lacks the checkpoint's hash):
   * the detail of each variable that had a fingerprint and is unverifiable for that reason.
   */
  uncompared?: string;
}

export interface VerificationReport {
  variables: VariableReport[];
  totals: Record<VariableOutcome, number>;
  /**
   * True when nothing was lost and no variable came back with a different value (unless the
   * caller accepted `recomputed-different` explicitly). Unverifiable variables do not count
   * against it: nothing can fingerprint them (generators, open files, figures).
   */
  ok: boolean;
}

export function verify(input: VerificationInput): VerificationReport {
  const variables: VariableReport[] = [];
  for (const name of [...input.expected.keys()].sort()) {
    const expected = input.expected.get(name) ?? null;
    const method = input.method.get(name);
    const failure = input.failures.get(name);
    if (!input.actual.has(name)) {
      variables.push({ name, outcome: 'lost', detail: failure ?? (method ? `${method} did not bind it` : 'no way to bring it back') });
      continue;
    }
    if (failure !== undefined && method === undefined) {
      // No plan brought it back: what the kernel holds under that name is not the checkpoint's.
      variables.push({ name, outcome: 'lost', detail: failure });
      continue;
    }
    if (method === 'load' && expected !== null && input.proven?.has(name)) {
      variables.push({ name, outcome: 'restored', detail: 'loaded intact (checksum ok, unpickled; its types rebuild exactly)' });
      continue;
    }
    const unshared = method === 'rerun' ? input.unshared?.get(name) : undefined;
    if (unshared !== undefined) {
      variables.push({ name, outcome: 'recomputed-different', detail: unshared });
      continue;
    }
    const actual = input.actual.get(name) ?? null;
    const how = method === 'load' ? 'loaded' : 'rerun';
    if (expected === null || actual === null) {
      const why = expected !== null && input.uncompared !== undefined ? input.uncompared : 'no content fingerprint';
      variables.push({ name, outcome: 'unverifiable', detail: `${how}; ${why}` });
    } else if (expected === actual) {
      variables.push({ name, outcome: method === 'load' ? 'restored' : 'recomputed-equal', detail: how });
    } else if (method === 'load') {
      // The blob's checksum held and it unpickled, so the bytes are the ones saved; a different
      // fingerprint means an unstable fingerprint or a lossy pickle. Not proven equal: say so.
      variables.push({
        name,
        outcome: 'unverifiable',
        detail: 'loaded intact (checksum ok), but its fingerprint differs: unstable fingerprint or lossy pickling of this type',
      });
    } else {
      variables.push({ name, outcome: 'recomputed-different', detail: failure ?? 'rerun produced a different value' });
    }
  }
  const totals: Record<VariableOutcome, number> = {
    restored: 0,
    'recomputed-equal': 0,
    'recomputed-different': 0,
    unverifiable: 0,
    lost: 0,
  };
  for (const variable of variables) totals[variable.outcome] += 1;
  const differentOk = totals['recomputed-different'] === 0 || input.allowRecomputedDifferent === true;
  return { variables, totals, ok: totals.lost === 0 && differentOk };
}
