/** Progress events of a checkpoint or restore, for an API caller's UI or the CLI's progress line. */
export type ProgressEvent =
  | { phase: 'sync' | 'measure' | 'plan' | 'commit' | 'verify' | 'compatibility' | 'attach' }
  | { phase: 'save'; groups: number; bytes: number }
  | { phase: 'load'; group: string; names: string[]; index: number; total: number }
  | { phase: 'run'; cell: number; label: string; index: number; total: number }
  | { phase: 'fallback'; reason: string }
  /**
   * Bytes written (save) or read (load) so far, out of `total`, repeated while a large group is
   * written or read. A save's `total` starts as the measured estimate; the last event of each
   * operation has `done === total` (the exact byte count).
   */
  | { phase: 'bytes'; op: 'save' | 'load'; done: number; total: number };

export type ProgressListener = (event: ProgressEvent) => void;
