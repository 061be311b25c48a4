#!/usr/bin/env node
/** The nbferry command. */
import { parseArgs } from 'node:util';
import { checkpointCommand } from './commands/checkpoint.js';
import { inspectCommand } from './commands/inspect.js';
import { migrateCommand } from './commands/migrate.js';
import { recordCommand } from './commands/record.js';
import { restoreCommand } from './commands/restore.js';
import { runCommand } from './commands/run.js';
import { pythonFrom } from './kernel-options.js';

const USAGE = `usage: nbferry <command> [options]

commands:
  migrate <nb.ipynb>                         run, checkpoint, restore in a fresh kernel, verify, report
  run <nb.ipynb> [--checkpoint DIR]          run a notebook in a fresh recorded kernel (and checkpoint it)
  record <nb.ipynb> --graph out.json         run a notebook and write its history graph (--dot out.dot)
  checkpoint --connection-file F --out DIR   checkpoint a running kernel; it keeps running
  restore DIR [--connection-file F]          restore into a fresh kernel (left running) or a running one
  inspect DIR                                show a store's or checkpoint's contents and check its blobs

options:
  --python PATH           Python with ipykernel for new kernels (default: $NBFERRY_PYTHON, else the python3 kernelspec)
  --connection-file F     an existing kernel's connection file
  --store DIR             (migrate) keep the checkpoint in DIR instead of a temporary store
  --deadline SECONDS      (checkpoint) finish within this budget (spot eviction notice)
  --force                 (restore, migrate) restore even if Python or package versions differ
  --json                  machine-readable output
  --quiet                 fewer messages
`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      python: { type: 'string' },
      'connection-file': { type: 'string' },
      checkpoint: { type: 'string' },
      out: { type: 'string' },
      store: { type: 'string' },
      graph: { type: 'string' },
      dot: { type: 'string' },
      deadline: { type: 'string' },
      force: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command, target] = positionals;
  if (values.help || !command) {
    process.stdout.write(USAGE);
    return command || values.help ? 0 : 2;
  }
  const python = pythonFrom(values.python);
  const needNotebook = () => {
    if (!target) throw new UsageError(`nbferry ${command}: which notebook? (nbferry ${command} <notebook.ipynb>)`);
    return target;
  };
  switch (command) {
    case 'migrate':
      return migrateCommand({ notebook: needNotebook(), python, store: values.store, force: values.force, json: values.json });
    case 'run':
      return runCommand({ notebook: needNotebook(), python, checkpoint: values.checkpoint, json: values.json, quiet: values.quiet });
    case 'record':
      return recordCommand({ notebook: needNotebook(), python, graph: values.graph, dot: values.dot, quiet: values.quiet });
    case 'checkpoint':
      return checkpointCommand({
        connectionFile: values['connection-file'],
        out: values.out,
        deadlineMs: values.deadline === undefined ? undefined : Number(values.deadline) * 1000,
        json: values.json,
      });
    case 'restore':
      return restoreCommand({ checkpoint: target, python, connectionFile: values['connection-file'], force: values.force, json: values.json });
    case 'inspect':
      return inspectCommand(target, values.json);
    default:
      throw new UsageError(`nbferry: unknown command "${command}"\n${USAGE}`);
  }
}

class UsageError extends Error {}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    const name = error instanceof Error ? error.name : 'Error';
    process.stderr.write(`nbferry: ${name}: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
