/**
 * The shipped artefacts, as a user gets them: `npm run build`, `npm pack` of every workspace, the
 * tarballs installed into a project outside the checkout (nothing links back to it: no file: links
 * to the repository, no NBFERRY_SHIM_DIR, the repository's node_modules/.bin off PATH). There, the
 * README's TypeScript blocks type-check with plain tsc (skipLibCheck off) and run with plain node,
 * and the installed `nbferry migrate` moves a notebook. Only the kernels' Python comes from here.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, readFile, realpath, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, testPython } from './support/python.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The caller's environment minus whatever points into the checkout or steers npm from it. */
function outsideEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith('npm_') || key.startsWith('VITEST') || ['NBFERRY_SHIM_DIR', 'INIT_CWD', 'NODE_OPTIONS'].includes(key)) continue;
    env[key] = value;
  }
  env.PATH = (process.env.PATH ?? '')
    .split(delimiter)
    .filter((dir) => !dir.startsWith(repoRoot))
    .join(delimiter);
  env.NBFERRY_PYTHON = testPython();
  return env;
}

function run(file: string, args: string[], cwd: string, timeoutMs = 180_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd, env: outsideEnv(), timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

async function mustRun(file: string, args: string[], cwd: string): Promise<Run> {
  const result = await run(file, args, cwd);
  if (result.code !== 0) throw new Error(`${file} ${args.join(' ')} exited ${result.code}\n${result.stderr}\n${result.stdout}`);
  return result;
}

/** The ```ts blocks of a README (path relative to the repository), in order. */
async function typeScriptBlocks(readme: string): Promise<string[]> {
  const text = await readFile(join(repoRoot, readme), 'utf8');
  return [...text.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

/** Package READMEs whose examples are whole programs (jupyter-server's are excerpts of a walk-through). */
async function packageReadmes(): Promise<string[]> {
  const readmes = (await readdir(join(repoRoot, 'packages'))).map((dir) => `packages/${dir}/README.md`);
  return readmes.filter((readme) => existsSync(join(repoRoot, readme)) && readme !== 'packages/jupyter-server/README.md');
}

/**
 * Name and exports of every workspace package published to npm (a private one, the JupyterLab
 * extension, ships inside its pip wheel instead: test/lab/package-install.test.ts).
 */
async function workspacePackages(): Promise<{ name: string; exports: Record<string, unknown> }[]> {
  const dirs = await readdir(join(repoRoot, 'packages'));
  const all = await Promise.all(dirs.map(async (dir) => JSON.parse(await readFile(join(repoRoot, 'packages', dir, 'package.json'), 'utf8'))));
  return (all as { name: string; private?: boolean; exports: Record<string, unknown> }[]).filter((p) => p.private !== true);
}

/** `name` and `name/subpath` for every export of every workspace package. */
async function publicEntryPoints(): Promise<string[]> {
  return (await workspacePackages()).flatMap(({ name, exports }) =>
    Object.keys(exports)
      .filter((key) => !key.endsWith('.json'))
      .map((subpath) => name + subpath.slice(1)),
  );
}

const notebook = {
  nbformat: 4,
  nbformat_minor: 5,
  metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } },
  cells: [
    ['a', 'import random\nrandom.seed(7)\nrolls = [random.randint(1, 6) for _ in range(1000)]'],
    ['b', 'counts = {face: rolls.count(face) for face in range(1, 7)}\nprint(counts)'],
  ].map(([id, source]) => ({ cell_type: 'code', id, metadata: {}, execution_count: null, outputs: [], source })),
};

describe('the packages as installed from their tarballs', () => {
  let root: string;
  let project: string;
  const timings: string[] = [];

  beforeAll(async () => {
    const timed = async <T>(label: string, step: () => Promise<T>): Promise<T> => {
      const t0 = performance.now();
      const result = await step();
      timings.push(`${label} ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      return result;
    };
    root = await realpath(await mkdtemp(join(tmpdir(), 'nbf-installed-')));
    const packs = join(root, 'packs');
    project = join(root, 'project');
    await Promise.all([mkdir(packs), mkdir(project)]);

    await timed('build', () => mustRun('npm', ['run', 'build', '--silent'], repoRoot));
    const published = (await workspacePackages()).flatMap((p) => ['--workspace', p.name]);
    await timed('pack', () => mustRun('npm', ['pack', ...published, '--silent', '--pack-destination', packs], repoRoot));
    const tarballs = (await readdir(packs)).filter((f) => f.endsWith('.tgz')).map((f) => join(packs, f));

    // The consumer's own tools, at the versions this repository builds with.
    const { devDependencies } = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
    await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }, null, 2));
    const tools = ['typescript', '@types/node'].map((name) => `${name}@${devDependencies[name]}`);
    await timed('install', () =>
      mustRun('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', ...tarballs, ...tools], project),
    );
  }, 300_000);

  afterAll(async () => {
    console.log(`installed-package setup: ${timings.join(', ')}`);
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('installs every @nbferry package from its tarball, as files in the project', async () => {
    const lock = JSON.parse(await readFile(join(project, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { resolved?: string; link?: boolean }>;
    };
    const ours = Object.entries(lock.packages).filter(([path]) => /node_modules\/(@nbferry\/[^/]+|nbferry)$/.test(path));
    const names = (await workspacePackages()).map((p) => p.name);
    expect(ours.map(([path]) => path.replace(/^node_modules\//, '')).sort()).toEqual(names.sort());
    for (const [path, entry] of ours) {
      expect(entry.link, path).toBeFalsy();
      expect(entry.resolved, path).toMatch(/^file:\.\.\/packs\/.+\.tgz$/);
      expect((await lstat(join(project, path))).isSymbolicLink(), path).toBe(false);
    }
    // The shim travels inside @nbferry/recorder.
    const shim = await readdir(join(project, 'node_modules/@nbferry/recorder/shim/src/nbferry_shim'));
    expect(shim).toEqual(expect.arrayContaining(['__init__.py', '_version.py', 'recorder.py']));
  });

  it("type-checks the READMEs' TypeScript with plain tsc (skipLibCheck off) and runs the main README's with plain node", async () => {
    const blocks = await typeScriptBlocks('README.md');
    expect(blocks.length).toBeGreaterThanOrEqual(1);
    const names = blocks.map((_, i) => `readme-${i + 1}.ts`);
    await Promise.all(blocks.map((code, i) => writeFile(join(project, names[i]!), code)));
    // Package READMEs: type-checked only (their examples use placeholder paths).
    const packageExamples: string[] = [];
    for (const readme of await packageReadmes()) {
      for (const [i, code] of (await typeScriptBlocks(readme)).entries()) {
        const name = `${readme.split('/')[1]}-readme-${i + 1}.ts`;
        await writeFile(join(project, name), code);
        packageExamples.push(name);
      }
    }
    expect(packageExamples.length).toBeGreaterThanOrEqual(1);
    // And every entry point of every package, so all public declarations are checked.
    const entryPoints = await publicEntryPoints();
    await writeFile(join(project, 'entry-points.ts'), entryPoints.map((specifier, i) => `export * as m${i} from '${specifier}';\n`).join(''));
    const compilerOptions = {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      strict: true,
      skipLibCheck: false,
      types: ['node'], // TypeScript 6 includes no @types by default
      rootDir: '.',
      outDir: 'out',
    };
    await writeFile(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: [...names, ...packageExamples, 'entry-points.ts'] }, null, 2));
    const tsc = await run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', '.'], project);
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.code).toBe(0);

    // The Library example: a checkpoint restored into a fresh kernel, nothing lost.
    const library = await mustRun(process.execPath, ['out/readme-1.js'], project);
    expect(library.stdout).toMatch(/lost: 0/);
    expect(library.stdout).toMatch(/'recomputed-equal': \d+/);
    // Every other block runs too (the README says what each prints).
    for (const name of names.slice(1)) {
      const other = await mustRun(process.execPath, [`out/${name.replace(/\.ts$/, '.js')}`], project);
      expect(other.stdout, name).toMatch(/^true true$/m);
    }
  }, 180_000);

  it('leaves a working node_modules/.bin/nbferry in the checkout after `npm run build`', async () => {
    const help = await run(join(repoRoot, 'node_modules/.bin/nbferry'), ['--help'], repoRoot);
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toContain('migrate');
  });

  it('a broken installation (the shim removed) fails with the typed error that says to reinstall', async () => {
    const shim = join(project, 'node_modules/@nbferry/recorder/shim');
    const aside = join(root, 'shim-aside');
    await rename(shim, aside);
    try {
      const probe = 'import { loadShimBundle } from "nbferry";\nawait loadShimBundle().catch((e) => console.log(e.name, e.code, e.message));';
      const result = await mustRun(process.execPath, ['--input-type=module', '-e', probe], project);
      expect(result.stdout).toMatch(/^ShimSourcesError SHIM_SOURCES_UNREADABLE /);
      expect(result.stdout).toContain(shim);
      expect(result.stdout).toContain('reinstall');
    } finally {
      await rename(aside, shim);
    }
  });

  it('runs the installed nbferry command: migrate moves a notebook and loses nothing', async () => {
    const dir = join(project, 'work');
    await mkdir(dir);
    await writeFile(join(dir, 'dice.ipynb'), JSON.stringify(notebook));
    const bin = join(project, 'node_modules/.bin/nbferry');
    const migrated = await run(bin, ['migrate', 'dice.ipynb', '--python', testPython()], dir);
    expect(migrated.code, migrated.stderr + migrated.stdout).toBe(0);
    for (const name of ['rolls', 'counts']) expect(migrated.stdout).toContain(name);
    const help = await run(bin, ['--help'], dir);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('migrate');
  }, 180_000);

  it('ships the JSON Schemas of the --json documents, resolvable from nbferry and @nbferry/cli', async () => {
    const probe =
      'import { readFileSync } from "node:fs";\nimport { fileURLToPath } from "node:url";\n' +
      'for (const spec of ["nbferry/schemas/migrate.schema.json", "@nbferry/cli/schemas/error.schema.json", "nbferry/schemas/keygen.schema.json"]) {\n' +
      '  const schema = JSON.parse(readFileSync(fileURLToPath(import.meta.resolve(spec)), "utf8"));\n' +
      '  console.log(spec, schema.title);\n}';
    const result = await mustRun(process.execPath, ['--input-type=module', '-e', probe], project);
    expect(result.stdout).toBe(
      'nbferry/schemas/migrate.schema.json nbferry/migrate@1\n@nbferry/cli/schemas/error.schema.json nbferry/error@1\nnbferry/schemas/keygen.schema.json nbferry/keygen@1\n',
    );
    // The copy shipped in nbferry is the same as the source.
    for (const file of await readdir(join(repoRoot, 'packages/cli/schemas'))) {
      expect(await readFile(join(project, 'node_modules/nbferry/schemas', file), 'utf8'), file).toBe(await readFile(join(repoRoot, 'packages/cli/schemas', file), 'utf8'));
    }
  });
});
