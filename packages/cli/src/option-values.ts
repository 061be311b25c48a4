/** Parsers and checks for option and argument values: a bad value is a usage error naming what is accepted. */
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
