/** nbferry run <nb.ipynb> [--checkpoint DIR]: run a notebook in a fresh recorded kernel, optionally checkpoint it. */
import { formatMs } from '@nbferry/migrate';
import { EXIT } from '../exit-codes.js';
import { signingKey } from '../keys.js';
import type { Limits } from '../limits.js';
import { renderCheckpointText } from '../output/checkpoint-text.js';
import { writeDocument, type RunDocument } from '../output/documents.js';
import type { ProgressMode } from '../progress/progress.js';
import { stopKernel } from '../kernel-options.js';
import { runRecorded } from '../recorded-run.js';
import { takeCheckpoint } from './checkpoint.js';

export interface RunArgs {
  notebook: string;
  python?: string;
  checkpoint?: string;
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
  const run = await runRecorded(args.notebook, args.python, args.json || args.quiet ? 'none' : 'outputs', args.signal, args.limits);
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
    };
    if (!args.json) {
      process.stdout.write(
        `\nran ${run.runs.length}/${run.notebook.cells.length} cells of ${args.notebook} in ${formatMs(run.runMs)} ` +
          `(kernel ready in ${formatMs(run.kernelReadyMs)})${run.failed ? `; cell ${run.failed.cell.index + 1} failed` : ''}\n`,
      );
    }
    if (args.checkpoint) {
      const taken = await takeCheckpoint(run.recorder, args.checkpoint, { ...args, key });
      document.checkpoint = taken.document;
      if (!args.json) process.stdout.write(renderCheckpointText(taken.document, args.allowLoss));
    }
    if (args.json) writeDocument(document);
    return run.failed || document.checkpoint?.committed === false ? EXIT.incomplete : EXIT.ok;
  } finally {
    await stopKernel(run.kernel, args.signal);
  }
}
