/**
 * nbferry: everything a platform needs to checkpoint a live Jupyter kernel and restore it elsewhere,
 * from one package. Re-exports the layered packages (each also installable on its own); the Jupyter
 * Server integration and the CLI's building blocks are the subpaths `nbferry/jupyter-server` and
 * `nbferry/cli`, so importing `nbferry` does not load @jupyterlab/services.
 */
export * from '@nbferry/protocol';
export * from '@nbferry/kernel';
export * from '@nbferry/recorder';
export * from '@nbferry/planner';
export * from '@nbferry/store';
export * from '@nbferry/migrate';
