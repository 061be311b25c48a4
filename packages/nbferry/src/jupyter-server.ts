/** nbferry/jupyter-server: kernels behind a Jupyter Server (see @nbferry/jupyter-server). */
export * from '@nbferry/jupyter-server';
