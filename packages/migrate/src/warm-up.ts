/**
 * Warming a target kernel: a small-state restore is dominated by starting the kernel and importing
 * libraries, so the target imports what the source's variables need while the source is still
 * writing its checkpoint.
 */
import type { CallOptions, KernelClient } from '@nbferry/kernel';
import { Recorder } from '@nbferry/recorder';
import type { Environment } from '@nbferry/store';
import { kernelEnvironment } from './environment.js';
import { evaluateJson } from './kernel-json.js';

/** Top-level packages behind the source's user variables (modules bound by name, and value types). */
export async function userPackages(source: KernelClient, options: CallOptions = {}): Promise<string[]> {
  const expression =
    '(lambda ns, types, json: json.dumps(sorted({(v.__name__ if isinstance(v, types.ModuleType) else type(v).__module__).split(".")[0] ' +
    'for k, v in list(ns.items()) if not k.startswith("_") and k not in ("In", "Out", "get_ipython", "exit", "quit")} ' +
    '- {"builtins", "__main__", "IPython", "ipykernel"})))' +
    '(get_ipython().user_ns, __import__("types"), __import__("json"))';
  // Best effort: warming up is an optimisation, never a reason to fail a migration.
  return evaluateJson<string[]>(source, '', expression, options).catch(() => []);
}

/** Imports `packages` in the target, silently; a package that fails to import is skipped. */
export async function warmUp(target: KernelClient, packages: readonly string[], options: CallOptions = {}): Promise<void> {
  if (packages.length === 0) return;
  const code = `for __m in ${JSON.stringify(packages)}:\n    try:\n        __import__(__m)\n    except Exception:\n        pass\ndel __m`;
  await target.execute(code, { ...options, silent: true, storeHistory: false });
}

/** A target kernel made ready before the checkpoint exists: pass it to `restore` as `prepared`. */
export interface PreparedTarget {
  client: KernelClient;
  /** Attached to `client`: restore does not inject the shim again. */
  recorder: Recorder;
  /** The target's environment for `packages`; restore probes only what the checkpoint adds. */
  environment: Environment;
  packages: readonly string[];
}

/**
 * Everything about a target that does not depend on the checkpoint: imports the source's
 * packages, installs the shim, reads the environment. Run it while the source checkpoints, so
 * the restore itself is left with loading, rerunning and verifying.
 */
export async function prepareTarget(target: KernelClient, packages: readonly string[], options: CallOptions = {}): Promise<PreparedTarget> {
  await warmUp(target, packages, options);
  const recorder = await Recorder.attach(target, options);
  const environment = await kernelEnvironment(target, packages, options);
  return { client: target, recorder, environment, packages };
}
