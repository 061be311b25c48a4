/**
 * Progress of a checkpoint or restore on stderr, in the mode the user chose:
 *   text  a status line (rewritten in place on a terminal) with bytes, throughput and ETA
 *   json  newline-delimited `nbferry/progress@1` events, for platforms
 *   none  nothing
 *   auto  text on a terminal, else nothing
 */
import type { ProgressEvent, ProgressListener } from '@nbferry/migrate';
import { TextProgress } from './text-progress.js';

export const PROGRESS_MODES = ['auto', 'text', 'json', 'none'] as const;
export type ProgressMode = (typeof PROGRESS_MODES)[number];

/** What is under way: the `task` of each event. */
export type ProgressTask = 'checkpoint' | 'restore';

export interface Progress {
  listener(task: ProgressTask): ProgressListener;
  /** Clears a status line before the command prints its result. */
  end(): void;
}

export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

export function createProgress(mode: ProgressMode, stream: ProgressStream = process.stderr): Progress {
  const resolved = mode === 'auto' ? (stream.isTTY ? 'text' : 'none') : mode;
  if (resolved === 'json') return jsonProgress(stream);
  if (resolved === 'text') return new TextProgress(stream, stream.isTTY === true);
  return { listener: () => () => {}, end: () => {} };
}

/** One JSON object per line: the library's event plus schema, task and elapsed time. */
export interface ProgressRecord {
  schema: 'nbferry/progress@1';
  task: ProgressTask;
  elapsedMs: number;
}

function jsonProgress(stream: ProgressStream): Progress {
  const started = performance.now();
  return {
    listener: (task) => (event: ProgressEvent) => {
      const record: ProgressRecord & ProgressEvent = { schema: 'nbferry/progress@1', task, elapsedMs: Math.round(performance.now() - started), ...event };
      stream.write(`${JSON.stringify(record)}\n`);
    },
    end: () => {},
  };
}
