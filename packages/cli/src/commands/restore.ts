/**
 * nbferry restore DIR [--python PATH | --connection-file F] [--force]: restore a checkpoint into a
 * fresh kernel (left running for the user, its connection file printed) or into a running one.
 */
import { statSync } from 'node:fs';
import { formatMs, renderVerification, restore, type CheckpointBody } from '@nbferry/migrate';
import { openCheckpoint } from '@nbferry/store';
import { EXIT } from '../exit-codes.js';
import { openKernel, stopKernel } from '../kernel-options.js';
import { restoreDocument, writeDocument } from '../output/documents.js';
import { createProgress, type ProgressMode } from '../progress/progress.js';

export interface RestoreArgs {
  checkpoint: string;
  python?: string;
  connectionFile?: string;
  force: boolean;
  json: boolean;
  progress: ProgressMode;
  signal: AbortSignal;
}

export async function restoreCommand(args: RestoreArgs): Promise<number> {
  const stored = await openCheckpoint<CheckpointBody>(args.checkpoint);
  const cwd = stored.manifest.body.cwd;
  // A fresh kernel starts where the source ran (relative paths in reruns), and outlives us.
  const kernel = await openKernel({ python: args.python, connectionFile: args.connectionFile, cwd: existsDir(cwd), outlive: true, signal: args.signal });
  // Handed to the user only once restored and verified; an error or interruption shuts a fresh kernel down.
  let keep = false;
  const progress = createProgress(args.progress);
  try {
    const report = await restore(stored, kernel.client, { force: args.force, onProgress: progress.listener('restore'), signal: args.signal });
    progress.end();
    keep = true;
    if (args.json) {
      writeDocument(restoreDocument(report, kernel.connectionFile));
    } else {
      process.stdout.write(`${renderVerification(report.verification)}\n`);
      for (const fallback of report.fallbacks) process.stdout.write(`fallback: ${fallback}\n`);
      process.stdout.write(`restored in ${formatMs(report.timings.totalMs)}; kernel ready: jupyter console --existing ${kernel.connectionFile}\n`);
    }
    return report.verification.ok ? EXIT.ok : EXIT.incomplete;
  } finally {
    progress.end();
    if (keep) await kernel.detach();
    else await stopKernel(kernel, args.signal);
  }
}

function existsDir(path: string): string | undefined {
  try {
    return statSync(path).isDirectory() ? path : undefined;
  } catch {
    return undefined;
  }
}
