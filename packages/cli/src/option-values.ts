/** Parsers and checks for option and argument values: a bad value is a usage error naming what is accepted. */
import { statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { InvalidArgumentError } from 'commander';
import { UsageError } from './errors.js';

/** `--deadline 30`, `--deadline 2.5`: a positive number of seconds. */
export function parseSeconds(value: string): number {
  const seconds = Number(value);
  if (value.trim() === '' || !Number.isFinite(seconds) || seconds <= 0) {
    throw new InvalidArgumentError('expected a number of seconds greater than 0, e.g. 30 or 2.5.');
  }
  return seconds;
}

/** The notebook argument names a readable file (a missing one is a usage error, not a raw ENOENT). */
export async function checkNotebookPath(command: string, path: string): Promise<string> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(
      code === 'ENOENT'
        ? `nbferry ${command}: no notebook at ${path} (the file does not exist). Give the path of an .ipynb file.`
        : `nbferry ${command}: cannot read the notebook ${path} (${code ?? String(error)}).`,
    );
  }
  if (!info.isFile()) throw new UsageError(`nbferry ${command}: ${path} is not a file. Give the path of an .ipynb file.`);
  return path;
}

/** Seconds from a parsed option to milliseconds for the library (undefined stays unset). */
export function toMs(seconds: number | undefined): number | undefined {
  return seconds === undefined ? undefined : Math.round(seconds * 1000);
}

const DURATION_UNITS_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `--keep-within 30m`, `12h`, `7d` (units s, m, h, d, w): milliseconds. */
export function parseDuration(value: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$/.exec(value);
  if (!match) throw new InvalidArgumentError('expected a duration: a number and a unit s, m, h, d or w, e.g. 30m, 12h or 7d.');
  return Math.round(Number(match[1]) * DURATION_UNITS_MS[match[2]!]!);
}

/** A parser of whole numbers ≥ 1 of `things` (checkpoints to keep, kernels to fork). */
function countOf(things: string): (value: string) => number {
  return (value) => {
    const count = Number(value);
    if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(count) || count < 1) {
      throw new InvalidArgumentError(`expected a whole number of ${things}, at least 1, e.g. ${things === 'kernels' ? 2 : 5}.`);
    }
    return count;
  };
}

/** `--keep 5`: a whole number of checkpoints, at least 1 (the latest is always kept). */
export const parseCount = countOf('checkpoints');
/** `--count 4`: how many kernels a fork brings up. */
export const parseKernelCount = countOf('kernels');

/** `--warm-kernels 2`: kernels to keep warm, a whole number from 0 (no pool). */
export function parseWarmKernels(value: string): number {
  const count = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(count) || count > 64) {
    throw new InvalidArgumentError('expected a whole number of kernels from 0 (no pool) to 64, e.g. 2.');
  }
  return count;
}

const MODULE_NAME = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

/** `--warm-modules numpy,pandas,sklearn.ensemble`: Python module names, comma-separated (empty: none). */
export function parseModuleList(value: string): string[] {
  const names = value.split(',').map((name) => name.trim()).filter((name) => name !== '');
  const bad = names.find((name) => !MODULE_NAME.test(name));
  if (bad !== undefined) throw new InvalidArgumentError(`${JSON.stringify(bad)} is not a Python module name: give dotted names separated by commas, e.g. numpy,pandas,sklearn.ensemble.`);
  return names;
}

/** An existing directory (following symbolic links). */
export function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
