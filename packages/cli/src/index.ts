export { runNotebook, readNotebook, type CellRun, type RunNotebookOptions } from './run-notebook.js';
export { runRecorded, type RecordedRun } from './recorded-run.js';
export { renderOutput } from './render.js';
export { runCli } from './cli.js';
