/**
 * Runs the nbferry command line: parses, runs the command, and turns its outcome into an exit
 * status (exit-codes.ts). Errors are printed once, as `nbferry: <Name>: <what happened and what to
 * do>`; with --json, also as an `nbferry/error@1` document on stdout.
 */
import { CommanderError, type Command } from 'commander';
import { NbferryError } from '@nbferry/protocol';
import { cliHint } from './error-hints.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import { Interruption } from './interrupt.js';
import { writeDocument } from './output/documents.js';
import { buildProgram } from './program.js';

export async function runCli(argv: string[]): Promise<number> {
  const interruption = new Interruption();
  interruption.install();
  let exitCode: number = EXIT.ok;
  const program = buildProgram({
    signal: interruption.signal,
    setExitCode: (code) => (exitCode = code),
    setCleanupBudget: (ms) => (interruption.cleanupBudgetMs = ms),
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return interruption.by ? interrupted(interruption) : exitCode;
  } catch (error) {
    // Whatever an interrupted command threw (aborted requests, mostly), it was stopped on purpose.
    if (interruption.by) return interrupted(interruption);
    if (error instanceof CommanderError) return commanderExit(error, program, argv);
    return reportError(error, argv.includes('--json'));
  } finally {
    interruption.uninstall();
  }
}

function interrupted(interruption: Interruption): number {
  process.stderr.write(`nbferry: interrupted by ${interruption.by}; what it started was stopped and its temporary files removed\n`);
  return interruption.exitCode;
}

/** Commander printed the message already; help and version are not errors; the rest are usage errors. */
function commanderExit(error: CommanderError, program: Command, argv: string[]): number {
  if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return EXIT.ok;
  if (error.code === 'commander.unknownOption') {
    const command = program.commands.find((c) => argv.includes(c.name())) ?? program;
    const valid = command.options.map((o) => o.flags).concat('-h, --help');
    const name = command === program ? 'nbferry' : `nbferry ${command.name()}`;
    process.stderr.write(`${name} accepts: ${valid.join(', ')} (${name} --help)\n`);
  } else if (error.code === 'commander.unknownCommand') {
    process.stderr.write(`commands: ${program.commands.map((c) => c.name()).join(', ')} (nbferry --help)\n`);
  }
  if (argv.includes('--json')) {
    writeDocument({ schema: 'nbferry/error@1', code: 'USAGE', name: 'UsageError', message: error.message.replace(/^error: /, ''), exitCode: EXIT.usage });
  }
  return EXIT.usage;
}

function reportError(error: unknown, json: boolean): number {
  const exitCode = exitCodeFor(error);
  const name = error instanceof Error ? error.name : 'Error';
  const hint = cliHint(error);
  const message = (error instanceof Error ? error.message : String(error)) + (hint ? ` ${hint}` : '');
  process.stderr.write(`nbferry: ${name}: ${message}\n`);
  if (exitCode === EXIT.internal && error instanceof Error && error.stack) {
    process.stderr.write(`${error.stack}\nThis is a bug in nbferry: please report it with the lines above.\n`);
  }
  if (json) {
    const code = error instanceof NbferryError ? error.code : 'INTERNAL';
    writeDocument({ schema: 'nbferry/error@1', code, name, message, exitCode });
  }
  return exitCode;
}
