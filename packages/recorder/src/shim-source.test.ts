import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ShimSourcesError } from './errors.js';
import { defaultShimRoot, injectionCode, loadShimBundle } from './shim-source.js';

const checkoutShim = fileURLToPath(new URL('../../../python-shim/', import.meta.url));
const scratch: string[] = [];
const savedEnv = process.env.NBFERRY_SHIM_DIR;

afterEach(async () => {
  if (savedEnv === undefined) delete process.env.NBFERRY_SHIM_DIR;
  else process.env.NBFERRY_SHIM_DIR = savedEnv;
  await Promise.all(scratch.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A copy of the checkout's python-shim/ (sources and template only) to break at will. */
async function shimCopy(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'nbf-shim-'));
  scratch.push(dir);
  await cp(join(checkoutShim, 'src', 'nbferry_shim'), join(dir, 'src', 'nbferry_shim'), {
    recursive: true,
    filter: (path) => !path.includes('__pycache__'),
  });
  await cp(join(checkoutShim, 'inject.py.tmpl'), join(dir, 'inject.py.tmpl'));
  return dir;
}

async function rejection(promise: Promise<unknown>): Promise<ShimSourcesError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ShimSourcesError);
  return error as ShimSourcesError;
}

describe('shim sources', () => {
  it('come from the checkout when running from TypeScript sources, with the version of _version.py', async () => {
    delete process.env.NBFERRY_SHIM_DIR;
    expect(defaultShimRoot()).toBe(checkoutShim);
    const bundle = await loadShimBundle();
    const versionFile = await readFile(join(checkoutShim, 'src/nbferry_shim/_version.py'), 'utf8');
    expect(versionFile).toContain(`VERSION = "${bundle.version}"`);
    expect(Object.keys(bundle.sources)).toEqual(expect.arrayContaining(['nbferry_shim', 'nbferry_shim._version', 'nbferry_shim.recorder']));
    const code = injectionCode(bundle);
    expect(code).not.toContain('{{');
    expect(code).toContain(`version = "${bundle.version}"`);
  });

  it('come from NBFERRY_SHIM_DIR when set', async () => {
    const dir = await shimCopy();
    await writeFile(join(dir, 'src/nbferry_shim/_version.py'), 'VERSION = "9.9.9-test"\n');
    process.env.NBFERRY_SHIM_DIR = dir;
    expect(defaultShimRoot()).toBe(dir);
    expect((await loadShimBundle()).version).toBe('9.9.9-test');
  });

  it('missing: a typed error naming the directory and NBFERRY_SHIM_DIR, not a raw ENOENT', async () => {
    const missing = join(tmpdir(), 'nbf-no-such-shim-dir');
    process.env.NBFERRY_SHIM_DIR = missing;
    const error = await rejection(loadShimBundle());
    expect(error.code).toBe('SHIM_SOURCES_UNREADABLE');
    expect(error.root).toBe(missing);
    expect(error.message).toContain(missing);
    expect(error.message).toContain('NBFERRY_SHIM_DIR');
    expect(error.message).toContain('not found (ENOENT)');
    expect((error.cause as NodeJS.ErrnoException).code).toBe('ENOENT');
  });

  it('an explicit shimRoot that is incomplete says what is missing and what to pass', async () => {
    const dir = await shimCopy();
    await rm(join(dir, 'inject.py.tmpl'));
    const error = await rejection(loadShimBundle(dir));
    expect(error.message).toMatch(/inject\.py\.tmpl/);
    expect(error.message).toContain('shimRoot');
  });

  it('unreadable (a file where the package directory should be) and versionless sources are typed errors', async () => {
    const dir = await shimCopy();
    await rm(join(dir, 'src/nbferry_shim'), { recursive: true });
    await writeFile(join(dir, 'src/nbferry_shim'), 'not a directory');
    expect((await rejection(loadShimBundle(dir))).message).toContain('not a directory (ENOTDIR)');

    const versionless = await shimCopy();
    await writeFile(join(versionless, 'src/nbferry_shim/_version.py'), '# no version here\n');
    expect((await rejection(loadShimBundle(versionless))).message).toContain('no VERSION');
  });

  it('a failed read is not cached: fixing the directory fixes the next attach', async () => {
    const dir = await shimCopy();
    const template = await readFile(join(dir, 'inject.py.tmpl'), 'utf8');
    await rm(join(dir, 'inject.py.tmpl'));
    await rejection(loadShimBundle(dir));
    await writeFile(join(dir, 'inject.py.tmpl'), template);
    expect((await loadShimBundle(dir)).injectTemplate).toBe(template);
  });
});
