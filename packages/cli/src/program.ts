/**
 * The command-line grammar (commander): commands, their arguments and options, help and version.
 * Options shared by several commands are added by the helpers below, so adding one (e.g. a key
 * file for signed checkpoints) is one helper and one line per command.
 */
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_WARM_MODULES } from '@nbferry/migrate';
import { checkoutCommand } from './commands/checkout.js';
import { checkpointCommand } from './commands/checkpoint.js';
import { forkCommand } from './commands/fork.js';
import { gcCommand } from './commands/gc.js';
import { inspectCommand } from './commands/inspect.js';
import { logCommand } from './commands/log.js';
import { keygenCommand } from './commands/keygen.js';
import { migrateCommand } from './commands/migrate.js';
import { recordCommand } from './commands/record.js';
import { restoreCommand } from './commands/restore.js';
import { runCommand } from './commands/run.js';
import { serveCommand } from './commands/serve.js';
import { hubServiceCommand } from './commands/hub-service.js';
import { UsageError } from './errors.js';
import { EXIT_CODES_HELP } from './exit-codes.js';
import { pythonFrom } from './kernel-options.js';
import type { Limits } from './limits.js';
import { checkNotebookPath, parseCount, parseDuration, parseKernelCount, parseModuleList, parseSeconds, parseWarmKernels, toMs } from './option-values.js';
import { PROGRESS_MODES, type ProgressMode } from './progress/progress.js';

export interface ProgramContext {
  /** Aborted on Ctrl-C / SIGTERM. */
  signal: AbortSignal;
  /** Set by the command that ran: the exit status. */
  setExitCode(code: number): void;
  /** How long a signal's cleanup may take before the process exits anyway (default 20 s). */
  setCleanupBudget?(ms: number): void;
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
    .option('--store <dir>', 'keep the checkpoint in this store: a directory or s3://bucket/prefix (default: a temporary store, removed at the end)')
    .option('--force', 'restore even if Python or package versions differ', false)
    .option('--auto-checkpoint', 'checkpoint into the store after every cell while the notebook runs: the migration then writes and moves only what changed since (pre-copy)', false)
    .option('--no-pipeline', 'checkpoint, then restore (default with a local store: the target loads each group as soon as it is stored)')
    .addOption(allowDifferentOption())
    .addOption(keyFileOption('sign the checkpoint with, and verify it against'))
    .addOption(timeoutOption())
    .addOption(measureBudgetOption())
    .addOption(cellTimeoutOption())
    .addOption(unresponsiveOption())
    .addOption(jsonOption())
    .addOption(progressOption())
    .action(
      async (
        notebook: string,
        o: {
          python?: string;
          store?: string;
          force: boolean;
          autoCheckpoint: boolean;
          pipeline: boolean;
          allowDifferent: boolean;
          keyFile?: string;
          json: boolean;
          progress: ProgressMode;
        } & LimitOptions,
      ) => {
        await checkNotebookPath('migrate', notebook);
        done(
          await migrateCommand({
            notebook,
            python: pythonFrom(o.python),
            store: o.store,
            force: o.force,
            allowDifferent: o.allowDifferent,
            keyFile: o.keyFile,
            limits: limitsFrom(o),
            autoCheckpoint: o.autoCheckpoint,
            pipeline: o.pipeline,
            json: o.json,
            progress: o.progress,
            signal,
          }),
        );
      },
    );

  command(program, 'run')
    .summary('run a notebook in a fresh recorded kernel (and checkpoint it)')
    .description('Run the notebook top to bottom in a fresh recorded kernel, as Run All does; with --checkpoint, checkpoint it at the end.')
    .argument('<notebook>', 'the .ipynb file to run')
    .addOption(pythonOption())
    .option('--checkpoint <dir>', 'checkpoint the kernel into this store (a directory or s3://bucket/prefix) after the run')
    .option('--auto-checkpoint', 'with --checkpoint: checkpoint incrementally after every cell (the next cell waits for it), not only at the end', false)
    .addOption(
      new Option('--idle-ms <ms>', 'with --auto-checkpoint: checkpoint in the background instead, once the kernel has been idle this long after a cell; the next cell preempts it').argParser(parseMs),
    )
    .addOption(allowLossOption())
    .addOption(keyFileOption('sign the checkpoint with'))
    .addOption(timeoutOption())
    .addOption(measureBudgetOption())
    .addOption(cellTimeoutOption())
    .addOption(unresponsiveOption())
    .addOption(jsonOption())
    .option('--quiet', 'do not echo cell outputs', false)
    .addOption(progressOption())
    .action(
      async (
        notebook: string,
        o: {
          python?: string;
          checkpoint?: string;
          autoCheckpoint: boolean;
          idleMs?: number;
          allowLoss: boolean;
          keyFile?: string;
          json: boolean;
          quiet: boolean;
          progress: ProgressMode;
        } & LimitOptions,
      ) => {
        if ((o.autoCheckpoint || o.idleMs !== undefined) && !o.checkpoint) {
          throw new UsageError('nbferry run: --auto-checkpoint and --idle-ms need --checkpoint DIR (the store the checkpoints go to)');
        }
        if (o.idleMs !== undefined && !o.autoCheckpoint) throw new UsageError('nbferry run: --idle-ms goes with --auto-checkpoint');
        await checkNotebookPath('run', notebook);
        done(
          await runCommand({
            notebook,
            python: pythonFrom(o.python),
            checkpoint: o.checkpoint,
            autoCheckpoint: o.autoCheckpoint ? { idleMs: o.idleMs } : undefined,
            allowLoss: o.allowLoss,
            keyFile: o.keyFile,
            limits: limitsFrom(o),
            json: o.json,
            quiet: o.quiet,
            progress: o.progress,
            signal,
          }),
        );
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
    .option('--out <dir>', '(required) the store to write the checkpoint to: a directory (created if missing) or s3://bucket/prefix')
    .option('--deadline <seconds>', 'finish within this many seconds (a spot eviction notice)', parseSeconds)
    .addOption(allowLossOption())
    .addOption(keyFileOption('sign the checkpoint with'))
    .addOption(timeoutOption())
    .addOption(measureBudgetOption())
    .addOption(jsonOption())
    .addOption(progressOption())
    .action(
      async (
        o: { connectionFile?: string; out?: string; deadline?: number; allowLoss: boolean; keyFile?: string; json: boolean; progress: ProgressMode } & LimitOptions,
      ) => {
        if (!o.connectionFile || !o.out) {
          throw new UsageError('nbferry checkpoint: needs --connection-file F (the running kernel) and --out DIR (the store)');
        }
        done(
          await checkpointCommand({
            connectionFile: o.connectionFile,
            out: o.out,
            deadlineSeconds: o.deadline,
            allowLoss: o.allowLoss,
            keyFile: o.keyFile,
            limits: limitsFrom(o),
            json: o.json,
            progress: o.progress,
            signal,
          }),
        );
      },
    );

  command(program, 'restore')
    .summary('restore into a fresh kernel (left running) or a running one')
    .description(
      "Restore a store's latest checkpoint (or the checkpoint directory given) into a fresh kernel, left running for you " +
        '(its connection file is printed), or into a running kernel (--connection-file); then verify every variable. ' +
        'A fresh kernel starts in the current directory (or --cwd), not where the checkpoint was taken unless --cwd-from-checkpoint.',
    )
    .argument('<checkpoint>', 'a store, or one checkpoint directory in it')
    .option('--checkpoint <id>', "restore this checkpoint of the store instead of its latest (nbferry log STORE lists the ids)")
    .addOption(pythonOption().conflicts('connectionFile'))
    .option('--connection-file <file>', 'restore into this running kernel instead of a fresh one')
    .addOption(new Option('--cwd <dir>', 'start the fresh kernel in this directory (default: the current one)').conflicts(['connectionFile', 'cwdFromCheckpoint']))
    .addOption(
      new Option('--cwd-from-checkpoint', "start the fresh kernel in the checkpoint's recorded working directory (the checkpoint chooses a directory: only for checkpoints you trust)")
        .default(false)
        .conflicts('connectionFile'),
    )
    .option('--replace-existing', 'with --connection-file: overwrite variables the running kernel already has under the checkpoint\'s names', false)
    .option('--background', 'make the kernel usable at once: variables load and cells rerun in the background; a cell that uses one waits for it', false)
    .addOption(allowDifferentOption())
    .option('--force', 'restore even if Python or package versions differ', false)
    .addOption(keyFileOption('verify the checkpoint against (a .pub suffices)'))
    .addOption(trustUnsignedOption())
    .addOption(timeoutOption())
    .addOption(jsonOption())
    .addOption(progressOption())
    .action(
      async (
        checkpoint: string,
        o: {
          checkpoint?: string;
          python?: string;
          connectionFile?: string;
          cwd?: string;
          cwdFromCheckpoint: boolean;
          replaceExisting: boolean;
          background: boolean;
          allowDifferent: boolean;
          force: boolean;
          keyFile?: string;
          trustUnsigned: boolean;
          json: boolean;
          progress: ProgressMode;
        } & LimitOptions,
      ) => {
        done(
          await restoreCommand({
            checkpoint,
            checkpointId: o.checkpoint,
            python: pythonFrom(o.python),
            connectionFile: o.connectionFile,
            cwd: o.cwd,
            cwdFromCheckpoint: o.cwdFromCheckpoint,
            replaceExisting: o.replaceExisting,
            background: o.background,
            allowDifferent: o.allowDifferent,
            force: o.force,
            keyFile: o.keyFile,
            trustUnsigned: o.trustUnsigned,
            limits: limitsFrom(o),
            json: o.json,
            progress: o.progress,
            signal,
          }),
        );
      },
    );

  const checkoutOptions = (c: Command): Command =>
    c
      // Checked in the action rather than with requiredOption: a mistyped option is then reported as such.
      .option('--kernel <connection-file>', "(required) the running kernel's connection file; it keeps running")
      .addOption(allowDifferentOption())
      .option('--force', 'even if Python or package versions differ from the checkpoint\'s', false)
      .addOption(keyFileOption('verify the checkpoint against (a .pub suffices)'))
      .addOption(trustUnsignedOption())
      .addOption(timeoutOption())
      .addOption(jsonOption())
      .addOption(progressOption());
  type CheckoutOptions = { kernel?: string; checkpoint?: string; allowDifferent: boolean; force: boolean; keyFile?: string; trustUnsigned: boolean; json: boolean; progress: ProgressMode } & LimitOptions;
  const runCheckout = async (name: string, store: string, o: CheckoutOptions) => {
    if (!o.kernel) throw new UsageError(`nbferry ${name}: needs --kernel F (the running kernel's connection file)`);
    done(
      await checkoutCommand({
        store,
        kernel: o.kernel,
        checkpointId: o.checkpoint,
        allowDifferent: o.allowDifferent,
        force: o.force,
        keyFile: o.keyFile,
        trustUnsigned: o.trustUnsigned,
        limits: limitsFrom(o),
        json: o.json,
        progress: o.progress,
        signal,
      }),
    );
  };

  checkoutOptions(
    command(program, 'undo')
      .summary('bring a running kernel back to the state before its last cell (in place)')
      .description(
        "Bring a running kernel back to its last checkpoint in STORE if a cell ran since it, else to that checkpoint's parent (the state " +
          'before the last checkpointed cell), in place: only the variable groups that differ are reloaded or recomputed, names bound ' +
          'since are deleted, every variable is verified. The kernel\'s last checkpoint is kept in the kernel, whichever process took it. ' +
          'Exit status 4 if there is nothing to undo (NothingToUndoError; KernelNotRecordedError if nbferry was not recording the kernel).',
      )
      .argument('<store>', 'the store the kernel was checkpointed into'),
  ).action(async (store: string, o: CheckoutOptions) => runCheckout('undo', store, { ...o, checkpoint: undefined }));

  checkoutOptions(
    command(program, 'checkout')
      .summary("bring a running kernel to any checkpoint of a store (in place)")
      .description(
        'Bring a running kernel to checkpoint ID of STORE in place: only the variable groups that differ from what it holds are reloaded ' +
          'or recomputed, names bound since are deleted, every variable is verified. Any checkpoint may be checked out, also one of ' +
          "another kernel's line: the kernel's next checkpoint names it as parent (a branch, shown by nbferry log).",
      )
      .argument('<store>', 'the store')
      .option('--checkpoint <id>', '(required) the checkpoint to check out (nbferry log STORE lists the ids)'),
  ).action(async (store: string, o: CheckoutOptions) => {
    if (!o.checkpoint) throw new UsageError('nbferry checkout: needs --checkpoint ID (nbferry log STORE lists the ids)');
    await runCheckout('checkout', store, o);
  });

  command(program, 'inspect')
    .summary("a store's checkpoints, plan, signature, environment, blob checks")
    .description(
      "Show what a store or checkpoint holds, its signature, and check every blob's checksum (exit status 1 if one is damaged). " +
        'With a key (--key-file, $NBFERRY_KEY_FILE), a checkpoint not signed by it is refused unless --trust-unsigned.',
    )
    .argument('<checkpoint>', 'a store, or one checkpoint directory in it')
    .addOption(keyFileOption('verify the checkpoint against (a .pub suffices)'))
    .addOption(trustUnsignedOption())
    .addOption(jsonOption())
    .action(async (path: string, o: { keyFile?: string; trustUnsigned: boolean; json: boolean }) => {
      done(await inspectCommand({ path, keyFile: o.keyFile, trustUnsigned: o.trustUnsigned, json: o.json, signal }));
    });

  command(program, 'log')
    .summary("a store's checkpoints: parents, cells, bytes, changed variables")
    .description(
      "List a store's checkpoints, oldest first: id, time, parent (and branches), the last cell's execution count and first line, " +
        'bytes added and total, variables changed since the parent. Exit status 1 if a checkpoint cannot be read (it is listed with why).',
    )
    .argument('<store>', 'the store')
    .addOption(keyFileOption('verify the checkpoints against (a .pub suffices)'))
    .addOption(trustUnsignedOption())
    .addOption(jsonOption())
    .action(async (store: string, o: { keyFile?: string; trustUnsigned: boolean; json: boolean }) => {
      done(await logCommand({ store, keyFile: o.keyFile, trustUnsigned: o.trustUnsigned, json: o.json }));
    });

  command(program, 'gc')
    .summary('delete old checkpoints and the chunks nothing references')
    .description(
      'Delete the checkpoints beyond the retention (never the latest), then the chunks no remaining checkpoint references. ' +
        'Safe while another process writes a checkpoint (gc waits for it). Exit status 1 if chunks could not be swept (why is printed), ' +
        '75 if another gc is running.',
    )
    .argument('<store>', 'the store')
    .addOption(new Option('--keep <n>', 'keep the newest N checkpoints').argParser(parseCount))
    .addOption(new Option('--keep-within <duration>', 'keep the checkpoints younger than this: 30m, 12h, 7d (units s, m, h, d, w)').argParser(parseDuration))
    .addOption(jsonOption())
    .action(async (store: string, o: { keep?: number; keepWithin?: number; json: boolean }) => {
      if (o.keep === undefined && o.keepWithin === undefined) {
        throw new UsageError('nbferry gc: needs --keep N and/or --keep-within DURATION (which checkpoints to keep; the latest is always kept)');
      }
      done(await gcCommand({ store, keep: o.keep, keepWithinMs: o.keepWithin, json: o.json, signal }));
    });

  command(program, 'fork')
    .summary('bring up N new kernels holding a running kernel\'s state')
    .description(
      'Checkpoint a running kernel into the store once and restore that checkpoint into N fresh kernels at once, each verified ' +
        '(what-if exploration, agent search trees). The kernels are left running; their connection files are printed. The source ' +
        'kernel keeps running unchanged. All or nothing: if one kernel cannot be started or restored, none is left running.',
    )
    .argument('<store>', 'the store to write the checkpoint to (created if missing)')
    .option('--connection-file <file>', "(required) the running kernel's connection file")
    .option('--count <n>', 'how many kernels to bring up', parseKernelCount, 2)
    .addOption(pythonOption())
    .option('--cwd <dir>', 'start the new kernels in this directory (default: the current one)')
    .addOption(allowLossOption())
    .addOption(allowDifferentOption())
    .addOption(keyFileOption('sign the checkpoint with, and verify the restores against'))
    .addOption(timeoutOption())
    .addOption(measureBudgetOption())
    .addOption(jsonOption())
    .action(
      async (
        store: string,
        o: { connectionFile?: string; count: number; python?: string; cwd?: string; allowLoss: boolean; allowDifferent: boolean; keyFile?: string; json: boolean } & LimitOptions,
      ) => {
        if (!o.connectionFile) throw new UsageError('nbferry fork: needs --connection-file F (the running kernel to fork)');
        done(
          await forkCommand({
            store,
            connectionFile: o.connectionFile,
            count: o.count,
            python: pythonFrom(o.python),
            cwd: resolve(o.cwd ?? process.cwd()),
            allowLoss: o.allowLoss,
            allowDifferent: o.allowDifferent,
            keyFile: o.keyFile,
            limits: limitsFrom(o),
            json: o.json,
            signal,
          }),
        );
      },
    );

  command(program, 'serve')
    .summary('run the kernel service: HTTP API, metrics, checkpoints on SIGTERM')
    .description(
      'Run the nbferry service until SIGINT/SIGTERM: an HTTP API (OpenAPI: @nbferry/service/openapi.json) to register kernels, ' +
        'checkpoint, restore, migrate, log, gc, set auto-checkpoint policies and send preemption notices, and Prometheus metrics ' +
        'at /metrics. Every route but /health needs "Authorization: Bearer <token>". Logs are JSON lines on stdout. With --grace, ' +
        'SIGTERM first checkpoints every kernel within that many seconds, most valuable first; the log line "kernels checkpointed before exit" ' +
        'says what was saved. Exits 143 on SIGTERM, 130 on SIGINT.',
    )
    .option('--stores <dir|url>', '(required) where the kernels\' stores go (one per kernel): a directory, or s3://bucket/prefix (kernels anywhere, e.g. behind a Jupyter Server, checkpoint into the bucket)')
    .option('--token-file <file>', 'the API token (mode 0600); default $NBFERRY_SERVICE_TOKEN')
    .option('--host <address>', 'address to listen on (default loopback; 0.0.0.0 exposes it to the network)', '127.0.0.1')
    .addOption(new Option('--port <n>', 'port to listen on (0: any free port, logged at start)').default(8765).argParser(parsePort))
    .addOption(pythonOption())
    .addOption(new Option('--grace <seconds>', 'on SIGTERM, checkpoint every kernel within this many seconds before exiting').argParser(parseSeconds))
    .addOption(timeoutOption())
    .addOption(new Option('--log-level <level>', 'log level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'))
    .addOption(
      new Option('--target <spec>', '"move to…" target, repeatable: id=NAME,url=JUPYTER_SERVER_URL,token-file=FILE[,label=TEXT][,description=TEXT][,kernel=KERNELSPEC] (GET /targets lists them)')
        .argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value]),
    )
    .addOption(
      new Option('--warm-kernels <n>', 'keep n kernels warm (started, shim attached, --warm-modules imported): a restore or migration here takes a ready one instead of starting a kernel')
        .default(0)
        .argParser(parseWarmKernels),
    )
    .addOption(
      new Option('--warm-modules <a,b,...>', 'modules each warm kernel imports (one not installed is skipped)')
        .default([...DEFAULT_WARM_MODULES], DEFAULT_WARM_MODULES.join(','))
        .argParser(parseModuleList),
    )
    .option(
      '--standby',
      'give each kernel auto-checkpointing into a directory store a standby kernel (a warm one when ready, else launched) that follows its checkpoints: ' +
        'a migration here then moves only what changed since the last one. Each standby costs a whole kernel\'s memory',
    )
    .action(async (o: { stores?: string; tokenFile?: string; host: string; port: number; python?: string; grace?: number; timeout?: number; logLevel: string; target?: string[]; warmKernels: number; warmModules: string[]; standby?: boolean }) => {
      if (!o.stores) throw new UsageError('nbferry serve: needs --stores DIR (where the kernels\' checkpoints go; or s3://bucket/prefix)');
      done(
        await serveCommand({
          stores: o.stores,
          tokenFile: o.tokenFile,
          host: o.host,
          port: o.port,
          python: pythonFrom(o.python) ?? 'python3',
          graceSeconds: o.grace,
          timeoutMs: toMs(o.timeout),
          logLevel: o.logLevel,
          targets: o.target,
          warmKernels: { size: o.warmKernels, modules: o.warmModules },
          standby: o.standby === true,
          signal,
          setCleanupBudget: context.setCleanupBudget,
        }),
      );
    });

  command(program, 'hub-service')
    .summary('run the JupyterHub service: suspend idle servers instead of culling, restore on return, move sessions')
    .description(
      'Run as a JupyterHub managed service (c.JupyterHub.services; the Hub passes JUPYTERHUB_API_TOKEN, JUPYTERHUB_API_URL, ' +
        'JUPYTERHUB_SERVICE_URL). Polls the Hub for idle servers; warns the user, checkpoints and verifies each kernel into ' +
        '--stores (one store per user and notebook), then stops the server. A server whose checkpoint fails keeps running. When the ' +
        'server is started again, each notebook\'s kernel is restored with its variables and a verification report. API (behind the ' +
        'proxy at /services/<name>/): GET status, POST move {user, from, to, userOptions}. See docs/operators.md.',
    )
    .option('--stores <dir|url>', "(required) where the users' stores go (one per user and notebook path): a directory, or s3://bucket/prefix (the list of suspended notebooks goes there too, so a service on any node restores them)")
    .option('--public-url <url>', "the Hub's public URL, where user servers are reached through the proxy (default $JUPYTERHUB_PUBLIC_URL)")
    .addOption(new Option('--idle-timeout <seconds>', 'suspend a server idle this long').default(3600).argParser(parseSeconds))
    .addOption(new Option('--warn <seconds>', 'time between the warning and the suspend').default(60).argParser(parseSeconds))
    .addOption(new Option('--poll <seconds>', 'how often to look at the Hub').default(60).argParser(parseSeconds))
    .addOption(new Option('--memory-limit <bytes>', "right-sizing: the memory a kernel may use, e.g. 4G (default: its cgroup's memory.max); kernels on this machine only").argParser(parseByteSize))
    .addOption(new Option('--memory-threshold <fraction>', 'right-sizing: act once a kernel uses this fraction of its limit (default 0.85)').argParser(parseFraction))
    .option('--move-to <server>', 'right-sizing: move the session to this named server instead of only checkpointing')
    .addOption(new Option('--move-options <json>', 'spawner options (the profile) of the --move-to server, e.g. \'{"profile": "big"}\'').argParser(parseJsonObject))
    .addOption(timeoutOption())
    .addOption(new Option('--log-level <level>', 'log level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'))
    .action(async (o: {
      stores?: string;
      publicUrl?: string;
      idleTimeout: number;
      warn: number;
      poll: number;
      memoryLimit?: number;
      memoryThreshold?: number;
      moveTo?: string;
      moveOptions?: Record<string, unknown>;
      timeout?: number;
      logLevel: string;
    }) => {
      if (!o.stores) throw new UsageError("nbferry hub-service: needs --stores DIR or s3://bucket/prefix (where the users' checkpoints go)");
      const publicUrl = o.publicUrl ?? process.env.JUPYTERHUB_PUBLIC_URL;
      if (!publicUrl) throw new UsageError("nbferry hub-service: needs --public-url URL (the Hub's proxy, e.g. https://hub.example.org/)");
      done(
        await hubServiceCommand({
          stores: o.stores,
          publicUrl,
          idleTimeoutSeconds: o.idleTimeout,
          warnSeconds: o.warn,
          pollSeconds: o.poll,
          ...(o.memoryLimit !== undefined || o.memoryThreshold !== undefined || o.moveTo !== undefined
            ? {
                memoryPolicy: {
                  limitBytes: o.memoryLimit,
                  thresholdFraction: o.memoryThreshold,
                  ...(o.moveTo !== undefined ? { moveTo: { server: o.moveTo, userOptions: o.moveOptions } } : {}),
                },
              }
            : {}),
          timeoutMs: toMs(o.timeout),
          logLevel: o.logLevel,
          signal,
        }),
      );
    });

  command(program, 'keygen')
    .summary('write a new key for signed checkpoints')
    .description(
      'Write a new Ed25519 key: the private key at --out (mode 0600; signs checkpoints) and its public key at <out>.pub ' +
        '(verifies only: what restoring machines need). Never overwrites an existing file.',
    )
    .option('--out <file>', '(required) where to write the private key')
    .addOption(jsonOption())
    .action(async (o: { out?: string; json: boolean }) => {
      if (!o.out) throw new UsageError('nbferry keygen: needs --out FILE (where to write the private key; the public key goes to FILE.pub)');
      done(await keygenCommand({ out: o.out, json: o.json }));
    });

  return program;
}

function parseByteSize(value: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?$/i.exec(value.trim());
  if (!match) throw new InvalidArgumentError('a size in bytes, e.g. 4294967296 or 4G');
  return Math.round(Number(match[1]) * 1024 ** ' KMGT'.indexOf((match[2] || ' ').toUpperCase()));
}

function parseFraction(value: string): number {
  const n = Number(value);
  if (!(n > 0 && n <= 1)) throw new InvalidArgumentError('a fraction above 0 and at most 1, e.g. 0.85');
  return n;
}

function parseJsonObject(value: string): Record<string, unknown> {
  try {
    const parsed = JSON.parse(value) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new InvalidArgumentError('a JSON object, e.g. \'{"profile": "big"}\'');
}

/** The time options as commander parses them (seconds). */
interface LimitOptions {
  timeout?: number;
  measureBudget?: number;
  cellTimeout?: number;
  unresponsive?: number;
}

/** `--idle-ms 200`: a whole number of milliseconds, 0 or more. */
function parseMs(value: string): number {
  const ms = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(ms)) throw new InvalidArgumentError('expected a whole number of milliseconds, e.g. 500.');
  return ms;
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || port > 65535) throw new InvalidArgumentError('expected a port number from 0 to 65535.');
  return port;
}

function limitsFrom(o: LimitOptions): Limits {
  return { timeoutMs: toMs(o.timeout), measureBudgetSec: o.measureBudget, cellTimeoutMs: toMs(o.cellTimeout), unresponsiveMs: toMs(o.unresponsive) };
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

function allowDifferentOption(): Option {
  return new Option('--allow-different', 'exit 0 even if a rerun brought a variable back with a different value (they are listed as recomputed-different)').default(false);
}

function keyFileOption(purpose: string): Option {
  return new Option('--key-file <file>', `key to ${purpose} (default: $NBFERRY_KEY_FILE; nbferry keygen writes one)`);
}

function trustUnsignedOption(): Option {
  return new Option('--trust-unsigned', 'with a key: accept a checkpoint that is unsigned or signed by another key (never one modified since signing)').default(false);
}

function timeoutOption(): Option {
  return new Option('--timeout <seconds>', "bound each of nbferry's own requests to a kernel (default: 1 to 15 min by kind; user cells are not bounded by it)").argParser(parseSeconds);
}

function measureBudgetOption(): Option {
  return new Option('--measure-budget <seconds>', 'seconds the checkpoint may spend pickling one variable group to measure it (default 2)').argParser(parseSeconds);
}

function cellTimeoutOption(): Option {
  return new Option('--cell-timeout <seconds>', "give up a notebook cell that runs longer than this (default: cells are not bounded)").argParser(parseSeconds);
}

function unresponsiveOption(): Option {
  return new Option('--unresponsive <seconds>', 'give up a notebook cell when the kernel stops answering its control channel this long (default: off)').argParser(parseSeconds);
}

function progressOption(): Option {
  return new Option('--progress <mode>', 'progress on stderr: text, json (nbferry/progress@1 lines), none, or auto (text on a terminal)')
    .choices(PROGRESS_MODES)
    .default('auto');
}
