/**
 * The shim's Python sources, and the code that installs them in a kernel. The sources are sent with
 * the injection (nothing is pip-installed kernel-side); they are read once per process.
 */
import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ShimBundle {
  version: string;
  /** Module name (e.g. `nbferry_shim.recorder`) -> source text. */
  sources: Record<string, string>;
  injectTemplate: string;
}

/** python-shim/ next to the packages in this repository; NBFERRY_SHIM_DIR overrides. */
export function defaultShimRoot(): string {
  return process.env.NBFERRY_SHIM_DIR ?? fileURLToPath(new URL('../../../python-shim/', import.meta.url));
}

let cached: Promise<ShimBundle> | undefined;

export function loadShimBundle(root = defaultShimRoot()): Promise<ShimBundle> {
  if (root === defaultShimRoot()) return (cached ??= readBundle(root));
  return readBundle(root);
}

async function readBundle(root: string): Promise<ShimBundle> {
  const packageDir = join(root, 'src', 'nbferry_shim');
  const sources: Record<string, string> = {};
  for (const file of (await readdir(packageDir)).filter((f) => f.endsWith('.py')).sort()) {
    const module = file === '__init__.py' ? 'nbferry_shim' : `nbferry_shim.${basename(file, '.py')}`;
    sources[module] = await readFile(join(packageDir, file), 'utf8');
  }
  const versionSource = sources['nbferry_shim._version'] ?? '';
  const version = /^VERSION\s*=\s*["']([^"']+)["']/m.exec(versionSource)?.[1];
  if (!version) throw new Error(`no VERSION in ${packageDir}/_version.py`);
  const injectTemplate = await readFile(join(root, 'inject.py.tmpl'), 'utf8');
  return { version, sources, injectTemplate };
}

/** The silent-execute code that installs (or re-uses) the shim. */
export function injectionCode(bundle: ShimBundle): string {
  return bundle.injectTemplate
    .replaceAll('{{SOURCES_JSON}}', JSON.stringify(bundle.sources))
    .replaceAll('{{VERSION}}', bundle.version);
}
