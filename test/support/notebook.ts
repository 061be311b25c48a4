/** A minimal .ipynb (nbformat 4.5) with the given code cells and per-cell tags. */
export function notebook(cells: string[], tags: Record<number, string[]> = {}): string {
  return JSON.stringify({
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: 'python3' } },
    cells: cells.map((source, i) => ({ cell_type: 'code', id: `c${i}`, metadata: { tags: tags[i] ?? [] }, outputs: [], execution_count: null, source })),
  });
}
