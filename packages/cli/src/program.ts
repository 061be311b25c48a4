/**
 * The command-line grammar (commander): commands, their arguments and options, help and version.
 * Options shared by several commands are added by the helpers below, so adding one (e.g. a key
 * file for signed checkpoints) is one helper and one line per command.
 */
import { createRequire } from 'node:module';
import { Command, Option } from 'commander';
import { checkpointCommand } from './commands/checkpoint.js';
import { inspectCommand } from './commands/inspect.js';
import { migrateCommand } from './commands/migrate.js';
import { recordCommand } from './commands/record.js';
import { restoreCommand } from './commands/restore.js';
import { runCommand } from './commands/run.js';
import { UsageError } from './errors.js';
import { EXIT_CODES_HELP } from './exit-codes.js';
import { pythonFrom } from './kernel-options.js';
import { checkNotebookPath, parseSeconds } from './option-values.js';
import { PROGRESS_MODES, type ProgressMode } from './progress/progress.js';

export interface ProgramContext {
  /** Aborted on Ctrl-C / SIGTERM. */
  signal: AbortSignal;
  /** Set by the command that ran: the exit status. */
  setExitCode(code: number): void;
}

export function cliVersion(): string {
  // src/ and dist/ both sit beside package.json.
  return (createRequire(import.meta.url)('../package.json') as { version: string }).version;
}

export function buildProgram(context: ProgramContext): Command {
  const program = new Command('nbferry')
    .description("Checkpoint a live Jupyter kernel's state and restore it in a fresh kernel, verifying every variable.")
    .version(cliVersion(), '-V, --version', 'print the version of nbferry')
    .helpOption('-h, --help', 'show help (nbferry <command> --help: that command\'s options)')
    .showSuggestionAfterError(true)
    .exitOverride()
    .addHelpText('after', EXIT_CODES_HELP);
  const { signal } = context;
  const done = (code: number) => context.setExitCode(code);

  command(program, 'migrate')
    .summary('run, checkpoint, restore in a fresh kernel, verify, report')
    .description(
      'Run the notebook in a fresh recorded kernel, checkpoint it while a fresh target kernel starts, restore into the target, ' +
        'verify every variable against its fingerprint, and report. Both kernels are shut down at the end.',
    )
    .argument('<notebook>', 'the .ipynb file to run')
    .addOption(pythonOption())
    .option('--store <dir>', 'keep the checkpoint in this store (default: a temporary store, removed at the end)')
    .option('--force', 'restore even if Python or package versions differ', false)
    .addOption(jsonOption())
    .addOption(progressOption())
    .action(async (notebook: string, o: { python?: string; store?: string; force: boolean; json: boolean; progress: ProgressMode }) => {
      await checkNotebookPath('migrate', notebook);
      done(await migrateCommand({ notebook, python: pythonFrom(o.python), store: o.store, force: o.force, json: o.json, progress: o.progress, signal }));
    });

  command(program, 'run')
    .summary('run a notebook in a fresh recorded kernel (and checkpoint it)')
    .description('Run the notebook top to bottom in a fresh recorded kernel, as Run All does; with --checkpoint, checkpoint it at the end.')
    .argument('<notebook>', 'the .ipynb file to run')
    .addOption(pythonOption())
    .option('--checkpoint <dir>', 'checkpoint the kernel into this store after the run')
    .addOption(allowLossOption())
    .addOption(jsonOption())
    .option('--quiet', 'do not echo cell outputs', false)
    .addOption(progressOption())
    .action(
      async (
        notebook: string,
        o: { python?: string; checkpoint?: string; allowLoss: boolean; json: boolean; quiet: boolean; progress: ProgressMode },
      ) => {
        await checkNotebookPath('run', notebook);
        done(await runCommand({ ...o, notebook, python: pythonFrom(o.python), signal }));
      },
    );

  command(program, 'record')
    .summary("write a notebook's history graph")
    .description('Run the notebook in a fresh recorded kernel and write its history graph (JSON and/or Graphviz DOT).')
    .argument('<notebook>', 'the .ipynb file to run')
    .addOption(pythonOption())
    .option('--graph <file>', 'write the graph as JSON here')
    .option('--dot <file>', 'write the graph as Graphviz DOT here')
    .option('--quiet', 'do not list the cells as they run', false)
    .action(async (notebook: string, o: { python?: string; graph?: string; dot?: string; quiet: boolean }) => {
      await checkNotebookPath('record', notebook);
      done(await recordCommand({ notebook, python: pythonFrom(o.python), graph: o.graph, dot: o.dot, quiet: o.quiet, signal }));
    });

  command(program, 'checkpoint')
    .summary('checkpoint a running kernel; it keeps running')
    .description(
      'Checkpoint a running kernel into a store. The kernel keeps running and its namespace is unchanged. If some variables ' +
        'could not be brought back, nothing is written and the exit status is 1, unless --allow-loss.',
    )
    // Checked in the action rather than with requiredOption: a mistyped option is then reported as such.
    .option('--connection-file <file>', "(required) the running kernel's connection file")
    .option('--out <dir>', '(required) the store to write the checkpoint to (created if missing)')
    .option('--deadline <seconds>', 'finish within this many seconds (a spot eviction notice)', parseSeconds)
    .addOption(allowLossOption())
    .addOption(jsonOption())
    .addOption(progressOption())
    .action(async (o: { connectionFile?: string; out?: string; deadline?: number; allowLoss: boolean; json: boolean; progress: ProgressMode }) => {
      if (!o.connectionFile || !o.out) {
        throw new UsageError('nbferry checkpoint: needs --connection-file F (the running kernel) and --out DIR (the store)');
      }
      done(
        await checkpointCommand({
          connectionFile: o.connectionFile,
          out: o.out,
          deadlineSeconds: o.deadline,
          allowLoss: o.allowLoss,
          json: o.json,
          progress: o.progress,
          signal,
        }),
      );
    });

  command(program, 'restore')
    .summary('restore into a fresh kernel (left running) or a running one')
    .description(
      "Restore a store's latest checkpoint (or the checkpoint directory given) into a fresh kernel, left running for you " +
        '(its connection file is printed), or into a running kernel (--connection-file); then verify every variable.',
    )
    .argument('<checkpoint>', 'a store, or one checkpoint directory in it')
    .addOption(pythonOption().conflicts('connectionFile'))
    .option('--connection-file <file>', 'restore into this running kernel instead of a fresh one')
    .option('--force', 'restore even if Python or package versions differ', false)
    .addOption(jsonOption())
    .addOption(progressOption())
    .action(async (checkpoint: string, o: { python?: string; connectionFile?: string; force: boolean; json: boolean; progress: ProgressMode }) => {
      done(
        await restoreCommand({
          checkpoint,
          python: pythonFrom(o.python),
          connectionFile: o.connectionFile,
          force: o.force,
          json: o.json,
          progress: o.progress,
          signal,
        }),
      );
    });

  command(program, 'inspect')
    .summary("a store's checkpoints, plan, environment, blob checks")
    .description("Show what a store or checkpoint holds and check every blob's checksum (exit status 1 if one is damaged).")
    .argument('<checkpoint>', 'a store, or one checkpoint directory in it')
    .addOption(jsonOption())
    .action(async (path: string, o: { json: boolean }) => {
      done(await inspectCommand({ path, json: o.json, signal }));
    });

  return program;
}

function command(program: Command, name: string): Command {
  return program.command(name).addHelpText('after', EXIT_CODES_HELP);
}

function pythonOption(): Option {
  return new Option('--python <path>', 'Python with ipykernel for new kernels (default: $NBFERRY_PYTHON, else the python3 kernelspec)');
}

function jsonOption(): Option {
  return new Option('--json', 'print the result as JSON (schema nbferry/<kind>@1) on stdout').default(false);
}

function allowLossOption(): Option {
  return new Option('--allow-loss', 'write the checkpoint even if some variables cannot be brought back (they are listed)').default(false);
}

function progressOption(): Option {
  return new Option('--progress <mode>', 'progress on stderr: text, json (nbferry/progress@1 lines), none, or auto (text on a terminal)')
    .choices(PROGRESS_MODES)
    .default('auto');
}
