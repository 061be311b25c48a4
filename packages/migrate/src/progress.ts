/** Progress events of a checkpoint or restore, for an API caller's UI or the CLI's progress line. */
export type ProgressEvent =
  | { phase: 'sync' | 'measure' | 'plan' | 'commit' | 'verify' | 'compatibility' | 'attach' }
  | { phase: 'save'; groups: number; bytes: number }
  | { phase: 'load'; group: string; names: string[]; index: number; total: number }
  | { phase: 'run'; cell: number; label: string; index: number; total: number }
  | { phase: 'fallback'; reason: string };

export type ProgressListener = (event: ProgressEvent) => void;
