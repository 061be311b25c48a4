/** The environment of a kernel: Python version, platform, and installed versions of given packages. */
import type { CallOptions, KernelClient } from '@nbferry/kernel';
import type { Environment } from '@nbferry/store';
import { NbferryError } from '@nbferry/protocol';
import { KernelQueryError } from './errors.js';
import { evaluateJson } from './kernel-json.js';

/**
 * Runs in the kernel in a private namespace (no user names touched). A package's version comes from
 * its loaded module, else its distribution of the same name, else the distribution that provides
 * it (the slow full scan, only when needed), so the target can be checked before loading anything.
 * The standard library has no distribution (its version is Python's): asking for one (\`os\`, bound
 * in most notebooks) ran the full scan, about 110 ms of every checkpoint and every target.
 */
const ENVIRONMENT_SOURCE = `
import json, platform, sys
from importlib import metadata
def version(m, dists=[]):
    v = getattr(sys.modules.get(m), "__version__", None)
    if isinstance(v, str):
        return v
    if m in getattr(sys, "stdlib_module_names", ()) or m in sys.builtin_module_names:
        return None
    try:
        return metadata.version(m)
    except Exception:
        pass
    if not dists:
        dists.append(metadata.packages_distributions())
    names = dists[0].get(m)
    return metadata.version(names[0]) if names else None
versions = {m: version(m) for m in MODULES}
sys.__dict__["_nbferry_env"] = json.JSONEncoder().encode({  # not json.dumps: a cell may have rebound it
    "python": platform.python_version(),
    "platform": sys.platform + "-" + platform.machine(),
    "packages": {m: v for m, v in versions.items() if v},
})
`;

/** `subshellId`: ask on that kernel subshell (a background checkpoint's lane), beside the main shell's cells. */
export async function kernelEnvironment(client: KernelClient, packages: readonly string[], options: CallOptions & { subshellId?: string } = {}): Promise<Environment> {
  const source = ENVIRONMENT_SOURCE.replace('MODULES', JSON.stringify(packages));
  try {
    return await evaluateJson<Environment>(
      client,
      `exec(compile(${JSON.stringify(source)}, "<nbferry-environment>", "exec"), {})`,
      '__import__("sys").__dict__.pop("_nbferry_env")',
      options,
    );
  } catch (error) {
    if (error instanceof NbferryError) throw error; // timeouts, a dead kernel: already typed
    throw new KernelQueryError("the kernel's environment", (error as Error).message, { cause: error });
  }
}

/** Top-level packages whose objects appear among `modules` (type(v).__module__ of saved values). */
export function packagesOf(modules: Iterable<string>): string[] {
  const skip = new Set(['builtins', '__main__', '']);
  const tops = new Set<string>();
  for (const module of modules) {
    const top = module.split('.')[0]!;
    if (!skip.has(top) && !top.startsWith('_')) tops.add(top);
  }
  return [...tops].sort();
}
