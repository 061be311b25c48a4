/** The environment of a kernel: Python version, platform, and installed versions of given packages. */
import type { CallOptions, KernelClient } from '@nbferry/kernel';
import type { Environment } from '@nbferry/store';

/**
 * One silent execute; package versions come from installed distributions (no import needed, so the
 * target can be checked before anything is loaded into it).
 */
export async function kernelEnvironment(client: KernelClient, packages: readonly string[], options: CallOptions = {}): Promise<Environment> {
  const expression =
    '(lambda sys, platform, md, json, mods: json.dumps({"python": platform.python_version(), ' +
    '"platform": sys.platform + "-" + platform.machine(), ' +
    '"packages": (lambda dists: {m: md.version(dists[m][0]) for m in mods if dists.get(m)})(md.packages_distributions())}).encode().hex())' +
    `(__import__("sys"), __import__("platform"), __import__("importlib.metadata").metadata, __import__("json"), ${JSON.stringify(packages)})`;
  const result = await client.execute('', { ...options, silent: true, storeHistory: false, userExpressions: { env: expression } });
  const env = result.userExpressions.env;
  if (!env || env.status !== 'ok') {
    throw new Error(`cannot read the kernel's environment: ${env && env.status === 'error' ? `${env.ename}: ${env.evalue}` : 'no answer'}`);
  }
  // Hex, so the repr in text/plain needs no unescaping: strip its quotes and decode.
  const hex = String(env.data['text/plain']).replace(/^'|'$/g, '');
  return JSON.parse(Buffer.from(hex, 'hex').toString('utf8')) as Environment;
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
