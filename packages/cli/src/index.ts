export { runNotebook, readNotebook, type CellRun, type RunNotebookOptions } from './run-notebook.js';
export { renderOutput } from './render.js';
