/** Runs the nbferry CLI from source, as a user would, and captures its output and exit status. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './python.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function nbferry(args: string[], options: { cwd?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', join(repoRoot, 'packages/cli/src/main.ts'), ...args],
      { cwd: options.cwd ?? repoRoot, timeout: options.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
