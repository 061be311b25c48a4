/**
 * Content fingerprints of a kernel's user variables, through nbferry's shim (`fingerprint` op).
 * The shim is attached only after the measured work is done, so the baselines are not charged
 * for it; the same algorithm is asked of source and target so the digests compare.
 */
import type { KernelClient } from '@nbferry/kernel';
import { Recorder } from '@nbferry/recorder';
import type { VariableFingerprint } from './fidelity.js';

export interface KernelFingerprints {
  algo: string;
  variables: Map<string, VariableFingerprint>;
}

/** All user variables (names omitted) or the given names, with `algo` (default: the shim's). */
export async function fingerprintKernel(
  client: KernelClient,
  signal: AbortSignal,
  options: { names?: string[]; algo?: string } = {},
): Promise<KernelFingerprints> {
  const recorder = await Recorder.attach(client, { signal });
  const args: { names?: string[]; algo?: string } = {};
  if (options.names) args.names = options.names;
  if (options.algo) args.algo = options.algo;
  const { result } = await recorder.request<{ algo: string; fingerprints: Record<string, VariableFingerprint> }>('fingerprint', args, {
    signal,
  });
  const entries = Object.entries(result.fingerprints).filter(([name]) => options.names !== undefined || isUserName(name));
  return { algo: result.algo, variables: new Map(entries) };
}

/** IPython's own names, which an instrument that swaps the namespace (Kishu) can make look like user variables. */
const IPYTHON_NAMES = new Set(['In', 'Out', 'exit', 'quit', 'get_ipython', 'open']);

/** The same variable set for every method: not `_`-prefixed, not IPython's. */
export function isUserName(name: string): boolean {
  return !name.startsWith('_') && !IPYTHON_NAMES.has(name);
}
