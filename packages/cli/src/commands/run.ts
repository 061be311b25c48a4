/** nbferry run <nb.ipynb> [--checkpoint DIR]: run a notebook in a fresh recorded kernel, optionally checkpoint it. */
import { checkpoint, formatBytes, formatMs } from '@nbferry/migrate';
import { LocalStore } from '@nbferry/store';
import { endProgress, progressLine } from '../progress-line.js';
import { runRecorded } from '../recorded-run.js';

export interface RunArgs {
  notebook: string;
  python?: string;
  checkpoint?: string;
  json: boolean;
  quiet: boolean;
}

export async function runCommand(args: RunArgs): Promise<number> {
  const run = await runRecorded(args.notebook, args.python, args.json || args.quiet ? 'none' : 'outputs');
  try {
    const summary = {
      notebook: args.notebook,
      cells: run.notebook.cells.length,
      ran: run.runs.length,
      failedCell: run.failed ? run.failed.cell.index + 1 : null,
      runMs: run.runMs,
      kernelReadyMs: run.kernelReadyMs,
    };
    if (!args.json) {
      process.stdout.write(
        `\nran ${run.runs.length}/${run.notebook.cells.length} cells of ${args.notebook} in ${formatMs(run.runMs)} ` +
          `(kernel ready in ${formatMs(run.kernelReadyMs)})${run.failed ? `; cell ${run.failed.cell.index + 1} failed` : ''}\n`,
      );
    }
    if (!args.checkpoint) {
      if (args.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
      return run.failed ? 1 : 0;
    }
    const result = await checkpoint(run.recorder, new LocalStore(args.checkpoint), { onProgress: progressLine('checkpoint', !args.json) });
    endProgress();
    const bytes = result.checkpoint.manifest.blobs.reduce((sum, b) => sum + b.bytes, 0);
    if (args.json) {
      process.stdout.write(`${JSON.stringify({ ...summary, checkpoint: result.checkpoint.dir, bytes, timings: result.timings, plan: result.plan }, null, 2)}\n`);
    } else {
      process.stdout.write(
        `checkpoint ${result.checkpoint.dir}: ${result.plan.serialize.length} groups saved (${formatBytes(bytes)}), ` +
          `${result.plan.rerun.length} cells to rerun, in ${formatMs(result.timings.totalMs)}\n`,
      );
    }
    return run.failed ? 1 : 0;
  } finally {
    await run.kernel.dispose();
  }
}
