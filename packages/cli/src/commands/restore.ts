/**
 * nbferry restore DIR [--python PATH | --connection-file F] [--force]: restore a checkpoint into a
 * fresh kernel (left running for the user, its connection file printed) or into a running one.
 */
import { statSync } from 'node:fs';
import { formatMs, renderVerification, restore } from '@nbferry/migrate';
import { openCheckpoint } from '@nbferry/store';
import type { CheckpointBody } from '@nbferry/migrate';
import { openKernel } from '../kernel-options.js';
import { endProgress, progressLine } from '../progress-line.js';

export interface RestoreArgs {
  checkpoint?: string;
  python?: string;
  connectionFile?: string;
  force: boolean;
  json: boolean;
}

export async function restoreCommand(args: RestoreArgs): Promise<number> {
  if (!args.checkpoint) {
    process.stderr.write('nbferry restore: which checkpoint? (nbferry restore <store or checkpoint dir>)\n');
    return 2;
  }
  const stored = await openCheckpoint<CheckpointBody>(args.checkpoint);
  const cwd = stored.manifest.body.cwd;
  // A fresh kernel starts where the source ran (relative paths in reruns), and outlives us.
  const kernel = await openKernel({ python: args.python, connectionFile: args.connectionFile, cwd: existsDir(cwd), outlive: true });
  let keep = false;
  try {
    const report = await restore(stored, kernel.client, { force: args.force, onProgress: progressLine('restore', !args.json) });
    endProgress();
    const ok = report.verification.ok;
    keep = true;
    if (args.json) {
      process.stdout.write(
        `${JSON.stringify(
          {
            ok,
            connectionFile: kernel.connectionFile,
            totals: report.verification.totals,
            variables: report.verification.variables,
            fallbacks: report.fallbacks,
            timings: report.timings,
          },
          null,
          2,
        )}\n`,
      );
    } else {
      process.stdout.write(`${renderVerification(report.verification)}\n`);
      for (const fallback of report.fallbacks) process.stdout.write(`fallback: ${fallback}\n`);
      process.stdout.write(
        `restored in ${formatMs(report.timings.totalMs)}; kernel ready: jupyter console --existing ${kernel.connectionFile}\n`,
      );
    }
    return ok ? 0 : 1;
  } finally {
    if (keep) await kernel.detach();
    else await kernel.dispose();
  }
}

function existsDir(path: string): string | undefined {
  try {
    return statSync(path).isDirectory() ? path : undefined;
  } catch {
    return undefined;
  }
}
