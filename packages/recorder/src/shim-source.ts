/**
 * The shim's Python sources, and the code that installs them in a kernel. The sources are sent with
 * the injection (nothing is pip-installed kernel-side); they are read once per process.
 *
 * Where they come from, first match wins:
 * 1. `shimRoot` given to Recorder.attach / loadShimBundle;
 * 2. $NBFERRY_SHIM_DIR (e.g. a python-shim/ checkout being worked on);
 * 3. running from this package's TypeScript sources (a checkout): the repository's python-shim/;
 *    running the built package (dist/, installed or not): the copy in the package's shim/,
 *    made by `npm run build` / `npm pack` (scripts/copy-shim.mjs).
 * Each is a python-shim-shaped directory: src/nbferry_shim/*.py and inject.py.tmpl.
 */
import { readdir, readFile } from 'node:fs/promises';
import { deflateSync } from 'node:zlib';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ShimSourcesError } from './errors.js';

export interface ShimBundle {
  version: string;
  /** Module name (e.g. `nbferry_shim.recorder`) -> source text. */
  sources: Record<string, string>;
  injectTemplate: string;
}

const fromSources = import.meta.url.endsWith('.ts');

/** The shim directory used when none is given: $NBFERRY_SHIM_DIR, else the checkout's or the package's. */
export function defaultShimRoot(): string {
  const override = process.env.NBFERRY_SHIM_DIR;
  if (override) return override;
  return fileURLToPath(new URL(fromSources ? '../../../python-shim/' : '../shim/', import.meta.url));
}

/** What to do when the shim in `root` is unreadable, by where `root` came from. */
function remedy(root: string, explicit: boolean): string {
  if (explicit) return 'Pass as shimRoot a python-shim directory (with src/nbferry_shim/ and inject.py.tmpl).';
  if (process.env.NBFERRY_SHIM_DIR) {
    return `NBFERRY_SHIM_DIR=${root}: point it at a python-shim directory (with src/nbferry_shim/ and inject.py.tmpl), or unset it to use the shim shipped in @nbferry/recorder.`;
  }
  if (fromSources) return 'This checkout is missing python-shim/: restore it (git checkout -- python-shim) or set NBFERRY_SHIM_DIR.';
  return (
    'The @nbferry/recorder installation is incomplete (its shim/ directory): reinstall it (npm install). ' +
    'If nbferry is bundled, ship @nbferry/recorder/shim/ with the bundle and set NBFERRY_SHIM_DIR to it; in a checkout, run `npm run build`.'
  );
}

const cache = new Map<string, Promise<ShimBundle>>();

/** Reads the shim from `root` (default: defaultShimRoot()); a failed read is retried next time. */
export function loadShimBundle(root?: string): Promise<ShimBundle> {
  const dir = root ?? defaultShimRoot();
  let bundle = cache.get(dir);
  if (!bundle) {
    bundle = readBundle(dir, root !== undefined);
    cache.set(dir, bundle);
    void bundle.catch(() => cache.delete(dir));
  }
  return bundle;
}

const IO_REASONS: Record<string, string> = { ENOENT: 'not found', EACCES: 'permission denied', ENOTDIR: 'not a directory', EISDIR: 'a directory' };

async function readBundle(root: string, explicit: boolean): Promise<ShimBundle> {
  const fail = (detail: string, cause?: unknown) => new ShimSourcesError(root, detail, remedy(root, explicit), { cause });
  const read = async <T>(what: string, io: () => Promise<T>): Promise<T> => {
    try {
      return await io();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const reason = code ? `${IO_REASONS[code] ?? 'error'} (${code})` : (error as Error).message;
      throw fail(`${what}: ${reason}`, error);
    }
  };
  const packageDir = join(root, 'src', 'nbferry_shim');
  const files = await read(`cannot list ${packageDir}`, () => readdir(packageDir));
  const sources: Record<string, string> = {};
  for (const file of files.filter((f) => f.endsWith('.py')).sort()) {
    const module = file === '__init__.py' ? 'nbferry_shim' : `nbferry_shim.${basename(file, '.py')}`;
    sources[module] = await read(`cannot read ${file}`, () => readFile(join(packageDir, file), 'utf8'));
  }
  if (!sources['nbferry_shim']) throw fail(`no __init__.py in ${packageDir}`);
  const version = /^VERSION\s*=\s*["']([^"']+)["']/m.exec(sources['nbferry_shim._version'] ?? '')?.[1];
  if (!version) throw fail(`no VERSION in ${join(packageDir, '_version.py')}`);
  const injectTemplate = await read('cannot read inject.py.tmpl', () => readFile(join(root, 'inject.py.tmpl'), 'utf8'));
  return { version, sources, injectTemplate };
}

/**
 * The first line of nbferry's own silent requests to a kernel: the shim does not count them as code
 * that may have changed variables in place outside recorded cells (python-shim unobserved.py).
 */
export const INTERNAL_CODE_MARK = '# nbferry:internal';

/**
 * `code` marked as nbferry's own. Empty code is marked too: the kernel still evaluates the request's
 * user expressions and fires its execute events, which would otherwise count as outside code.
 */
export function internalCode(code: string): string {
  return `${INTERNAL_CODE_MARK}\n${code}`;
}

const injections = new WeakMap<ShimBundle, string>();
const expressions = new WeakMap<ShimBundle, string>();

/**
 * The Python expression that installs (or re-uses) the shim: `injectionCode` run by `exec`, sent as a
 * user expression of an otherwise empty execute request. A cell's text goes through IPython's
 * transforms and ipykernel's pure-Python murmur hash of it (its debugger file name): 70 ms of the
 * 110 ms an injection took as a cell, on 330 KB. A user expression is only `eval`ed.
 */
export function injectionExpression(bundle: ShimBundle): string {
  let expression = expressions.get(bundle);
  if (expression === undefined) {
    // A JSON string is a valid Python string literal: its escapes (\n, \", \\, \uXXXX) are Python's too.
    expression = `exec(compile(${JSON.stringify(injectionCode(bundle))}, "<nbferry_shim inject>", "exec"), {"__name__": "__nbferry_inject__"})`;
    expressions.set(bundle, expression);
  }
  return expression;
}

/**
 * The bootstrap program that installs (or re-uses) the shim, built once per bundle. The sources
 * travel deflated and base64-encoded (`{{SOURCES_PACKED}}`): the program is compiled before it runs,
 * and the 0.7 MB dict literal of the plain sources cost ~50 ms more per injection than one 140 KB
 * string. `{{SOURCES_JSON}}` (the plain dict) still works for templates that use it.
 */
export function injectionCode(bundle: ShimBundle): string {
  let code = injections.get(bundle);
  if (code === undefined) {
    const template = internalCode(bundle.injectTemplate);
    const json = JSON.stringify(bundle.sources);
    code = template
      .replaceAll('{{SOURCES_PACKED}}', template.includes('{{SOURCES_PACKED}}') ? deflateSync(Buffer.from(json, 'utf8')).toString('base64') : '')
      .replaceAll('{{SOURCES_JSON}}', json)
      .replaceAll('{{VERSION}}', bundle.version);
    injections.set(bundle, code);
  }
  return code;
}
