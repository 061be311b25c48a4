/** nbferry run <nb.ipynb> [--checkpoint DIR [--auto-checkpoint]]: run a notebook in a fresh recorded kernel, optionally checkpoint it. */
import { AutoCheckpointer, formatMs } from '@nbferry/migrate';
import { openStore } from '@nbferry/store';
import { EXIT } from '../exit-codes.js';
import { signingKey } from '../keys.js';
import type { Limits } from '../limits.js';
import { renderCheckpointText } from '../output/checkpoint-text.js';
import { checkpointDocument, writeDocument, type AutoCheckpointDocument, type RunDocument } from '../output/documents.js';
import type { ProgressMode } from '../progress/progress.js';
import { stopKernel } from '../kernel-options.js';
import { runRecorded } from '../recorded-run.js';
import { takeCheckpoint } from './checkpoint.js';

export interface RunArgs {
  notebook: string;
  python?: string;
  checkpoint?: string;
  /**
   * With `checkpoint`: checkpoint incrementally after every cell instead of once at the end. Without
   * `idleMs` the next cell waits for the checkpoint (a batch run: a crash loses at most one cell);
   * with it, checkpoints run in the background once the kernel has been idle that long, and the
   * next cell preempts one in flight (as for an interactive kernel).
   */
  autoCheckpoint?: { idleMs?: number };
  allowLoss: boolean;
  keyFile?: string;
  limits: Limits;
  json: boolean;
  quiet: boolean;
  progress: ProgressMode;
  signal: AbortSignal;
}

export async function runCommand(args: RunArgs): Promise<number> {
  // Before running anything: a key that cannot sign would only fail after the whole notebook ran.
  const key = args.checkpoint ? await signingKey(args.keyFile) : undefined;
  const autoStore = args.checkpoint && args.autoCheckpoint ? await openStore(args.checkpoint, { key }) : undefined;
  let auto: AutoCheckpointer | undefined;
  const startAuto = (recorder: AutoCheckpointer['recorder']) => {
    if (!autoStore || !args.autoCheckpoint) return undefined;
    const background = args.autoCheckpoint.idleMs !== undefined;
    const started = new AutoCheckpointer(recorder, autoStore, {
      idleMs: args.autoCheckpoint.idleMs,
      refuseLoss: !args.allowLoss,
      key,
      timeoutMs: args.limits.timeoutMs,
      measureBudgetSec: args.limits.measureBudgetSec,
      // A failed auto-checkpoint is retried after the next cell; say why now, on stderr.
      onError: (error) => process.stderr.write(`nbferry run: auto-checkpoint failed: ${(error as Error).message ?? String(error)}\n`),
    });
    auto = started;
    return background ? undefined : () => started.flush();
  };
  const run = await runRecorded(args.notebook, args.python, args.json || args.quiet ? 'none' : 'outputs', args.signal, args.limits, { onAttached: startAuto });
  try {
    const document: RunDocument = {
      schema: 'nbferry/run@1',
      notebook: args.notebook,
      cells: run.notebook.cells.length,
      ran: run.runs.length,
      failedCell: run.failed ? run.failed.cell.index + 1 : null,
      runMs: run.runMs,
      kernelReadyMs: run.kernelReadyMs,
      checkpoint: null,
      autoCheckpoint: null,
    };
    if (!args.json) {
      process.stdout.write(
        `\nran ${run.runs.length}/${run.notebook.cells.length} cells of ${args.notebook} in ${formatMs(run.runMs)} ` +
          `(kernel ready in ${formatMs(run.kernelReadyMs)})${run.failed ? `; cell ${run.failed.cell.index + 1} failed` : ''}\n`,
      );
    }
    if (auto && args.checkpoint) {
      document.autoCheckpoint = await finishAuto(auto);
      const last = document.autoCheckpoint.lastCheckpointId;
      if (last) document.checkpoint = checkpointDocument(await auto.store.open(last));
      if (!args.json) {
        const { committed, abandoned, failed } = document.autoCheckpoint;
        process.stdout.write(
          `auto-checkpoint: ${committed} committed, ${abandoned} abandoned (preempted by a cell), ${failed} failed; ` +
            `last ${last ?? 'none'} in ${args.checkpoint} (nbferry log ${args.checkpoint} lists them)\n`,
        );
      }
    } else if (args.checkpoint) {
      const taken = await takeCheckpoint(run.recorder, args.checkpoint, { ...args, key });
      document.checkpoint = taken.document;
      if (!args.json) process.stdout.write(renderCheckpointText(taken.document, args.allowLoss));
    }
    if (args.json) writeDocument(document);
    const checkpointFailed = document.checkpoint?.committed === false || (document.autoCheckpoint !== null && (document.autoCheckpoint.failed > 0 || !document.checkpoint));
    return run.failed || checkpointFailed ? EXIT.incomplete : EXIT.ok;
  } finally {
    await auto?.stop();
    await stopKernel(run.kernel, args.signal);
  }
}

/** Checkpoints what the last cells changed, stops watching, and reports the counts. */
async function finishAuto(auto: AutoCheckpointer): Promise<AutoCheckpointDocument> {
  await auto.flush();
  await auto.stop();
  return { ...auto.stats, lastCheckpointId: auto.lastCheckpointId ?? null };
}
