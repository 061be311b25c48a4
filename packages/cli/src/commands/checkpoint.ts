/** nbferry checkpoint --connection-file F --out DIR: checkpoint a running kernel (it keeps running). */
import { attachKernel } from '@nbferry/kernel';
import { checkpoint, formatBytes, formatMs } from '@nbferry/migrate';
import { renderPlanText } from '@nbferry/planner';
import { Recorder } from '@nbferry/recorder';
import { LocalStore } from '@nbferry/store';
import { endProgress, progressLine } from '../progress-line.js';

export interface CheckpointArgs {
  connectionFile?: string;
  out?: string;
  deadlineMs?: number;
  json: boolean;
}

export async function checkpointCommand(args: CheckpointArgs): Promise<number> {
  if (!args.connectionFile || !args.out) {
    process.stderr.write('nbferry checkpoint: needs --connection-file F (the kernel) and --out DIR (the store)\n');
    return 2;
  }
  const kernel = await attachKernel(args.connectionFile);
  try {
    const recorder = await Recorder.attach(kernel.client);
    const result = await checkpoint(recorder, new LocalStore(args.out), {
      deadlineMs: args.deadlineMs,
      onProgress: progressLine('checkpoint', !args.json),
    });
    endProgress();
    const bytes = result.checkpoint.manifest.blobs.reduce((sum, b) => sum + b.bytes, 0);
    if (args.json) {
      process.stdout.write(`${JSON.stringify({ checkpoint: result.checkpoint.dir, bytes, timings: result.timings, deadlineMissed: result.deadlineMissed ?? false, plan: result.plan }, null, 2)}\n`);
    } else {
      process.stdout.write(`${renderPlanText(result.plan)}\n`);
      process.stdout.write(`checkpoint ${result.checkpoint.dir}: ${formatBytes(bytes)} in ${formatMs(result.timings.totalMs)}\n`);
      if (result.deadlineMissed) process.stdout.write('warning: no plan fits the deadline; the fastest-to-write plan was used\n');
    }
    return 0;
  } finally {
    // Detach only: the user's kernel keeps running.
    await kernel.detach();
  }
}
