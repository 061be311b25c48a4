/**
 * Warming a target kernel: a small-state restore is dominated by starting the kernel and importing
 * libraries, so the target imports what the source's variables need while the source is still
 * writing its checkpoint.
 */
import type { CallOptions, KernelClient } from '@nbferry/kernel';
import { internalCode, Recorder } from '@nbferry/recorder';
import type { Environment } from '@nbferry/store';
import { kernelEnvironment, packagesOf } from './environment.js';
import { evaluateJson } from './kernel-json.js';

/**
 * Modules behind the source's user variables: each bound module, the module defining each class or
 * function, the module of each value's type (e.g. `sklearn.ensemble._hist_gradient_boosting.
 * gradient_boosting` for a fitted HistGradientBoostingClassifier, not just `sklearn`), so the
 * target imports what loads and reruns will need, not only the top-level packages.
 */
export async function userModules(source: KernelClient, options: CallOptions = {}): Promise<string[]> {
  const expression =
    '(lambda ns, types, json: json.dumps(sorted({m for m in (' +
    '(v.__name__ if isinstance(v, types.ModuleType) else getattr(v, "__module__", None) if isinstance(v, (type, types.FunctionType, types.BuiltinFunctionType)) else type(v).__module__) ' +
    'for k, v in list(ns.items()) if not k.startswith("_") and k not in ("In", "Out", "get_ipython", "exit", "quit")) ' +
    'if isinstance(m, str) and m.split(".")[0] not in ("builtins", "__main__", "IPython", "ipykernel")})))' +
    '(get_ipython().user_ns, __import__("types"), __import__("json"))';
  // Best effort: warming up is an optimisation, never a reason to fail a migration.
  return evaluateJson<string[]>(source, '', expression, options).catch(() => []);
}

/** Imports `modules` in the target, silently; a module that fails to import is skipped. */
export async function warmUp(target: KernelClient, modules: readonly string[], options: CallOptions = {}): Promise<void> {
  if (modules.length === 0) return;
  // pyplot picks its backend (in a kernel: the inline backend and its IPython hooks, ~0.5 s) on
  // first use, which would otherwise be the first figure a restore loads.
  const code =
    `for __m in ${JSON.stringify(modules)}:\n    try:\n        __import__(__m)\n    except Exception:\n        pass\ndel __m\n` +
    `if "matplotlib.pyplot" in __import__("sys").modules:\n    try:\n        __import__("sys").modules["matplotlib.pyplot"]._get_backend_mod()\n    except Exception:\n        pass`;
  await target.execute(internalCode(code), { ...options, silent: true, storeHistory: false });
}

/**
 * Imports in `target` the source's modules it lacks: a warm pool's kernel has the pool's (numpy,
 * pandas), not scikit-learn or matplotlib. Called when a migration begins, it runs while the source
 * measures and saves, rather than at the load that needs each module (after waiting for that group).
 * `modules`: the source's (`userModules`), when the caller has them.
 */
export async function importMissingModules(
  source: KernelClient,
  target: KernelClient,
  prepared: PreparedTarget | undefined,
  modules: readonly string[] | undefined,
  options: CallOptions = {},
): Promise<void> {
  const imported = new Set(prepared?.modules ?? []);
  const missing = (modules ?? (await userModules(source, options))).filter((m) => !imported.has(m));
  if (missing.length > 0) await warmUp(target, missing, options);
}

/** A target kernel made ready before the checkpoint exists: pass it to `restore` as `prepared`. */
export interface PreparedTarget {
  client: KernelClient;
  /** Attached to `client`: restore does not inject the shim again. */
  recorder: Recorder;
  /** The target's environment for `packages`; restore probes only what the checkpoint adds. */
  environment: Environment;
  /** Top-level packages of the modules it imported. */
  packages: readonly string[];
  /** The modules it imported (a warm pool's may lack a source's: a pipelined migration imports those first). */
  modules?: readonly string[];
}

/**
 * Everything about a target that does not depend on the checkpoint: imports the source's
 * modules (`userModules`), installs the shim, reads the environment. Run it while the source checkpoints, so
 * the restore itself is left with loading, rerunning and verifying.
 */
export async function prepareTarget(target: KernelClient, modules: readonly string[], options: CallOptions = {}): Promise<PreparedTarget> {
  await warmUp(target, modules, options);
  const recorder = await Recorder.attach(target, options);
  // The shim's load path and the pickler, imported now rather than by the first load.
  await recorder.request('warm_load', {}, options).catch(() => undefined);
  const packages = packagesOf(modules);
  const environment = await kernelEnvironment(target, packages, options);
  return { client: target, recorder, environment, packages, modules: [...modules] };
}
