#!/usr/bin/env node
/** The nbferry command. */
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { launchKernel } from '@nbferry/kernel';
import { renderOutput } from './render.js';
import { readNotebook, runNotebook } from './run-notebook.js';

const USAGE = `usage: nbferry <command> [options]

commands:
  run <notebook.ipynb> [--python PATH]   run a notebook top to bottom in a fresh kernel, printing outputs

options:
  --python PATH   Python interpreter with ipykernel (default: $NBFERRY_PYTHON, else the python3 kernelspec)
  --quiet         print only the summary
`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      python: { type: 'string' },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    process.stdout.write(USAGE);
    return command || values.help ? 0 : 2;
  }
  const python = values.python ?? process.env.NBFERRY_PYTHON;
  switch (command) {
    case 'run':
      return runCommand(rest[0], python, values.quiet);
    default:
      process.stderr.write(`nbferry: unknown command "${command}"\n${USAGE}`);
      return 2;
  }
}

async function runCommand(path: string | undefined, python: string | undefined, quiet: boolean): Promise<number> {
  if (!path) {
    process.stderr.write('nbferry run: which notebook? (nbferry run <notebook.ipynb>)\n');
    return 2;
  }
  const notebookPath = resolve(path);
  const notebook = await readNotebook(notebookPath);
  const started = performance.now();
  // Kernels start in the notebook's directory, as Jupyter does, so relative paths work.
  const kernel = await launchKernel({ python, cwd: dirname(notebookPath) });
  const ready = performance.now() - started;
  try {
    const runs = await runNotebook(kernel.client, notebook, {
      onCellStart: (cell) => !quiet && process.stdout.write(`\n── cell ${cell.index + 1}/${notebook.cells.length} ──\n`),
      onOutput: (_cell, output) => !quiet && process.stdout.write(renderOutput(output)),
    });
    const failed = runs.filter((r) => r.result.status === 'error' && !notebook.expectedErrors.includes(r.cell.index));
    const total = runs.reduce((sum, r) => sum + r.ms, 0);
    process.stdout.write(
      `\nran ${runs.length}/${notebook.cells.length} cells of ${path} in ${(total / 1000).toFixed(2)} s ` +
        `(kernel ready in ${ready.toFixed(0)} ms)${failed.length ? `; cell ${failed[0]!.cell.index + 1} failed` : ''}\n`,
    );
    return failed.length ? 1 : 0;
  } finally {
    await kernel.dispose();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`nbferry: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
