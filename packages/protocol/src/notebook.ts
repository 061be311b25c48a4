/** Reading notebooks (nbformat 4): the code cells, in order, with their ids. Pure: parses JSON text. */

export interface NotebookCell {
  /** nbformat >= 4.5 cell id, or a stable `cell-<index>` for older files. */
  id: string;
  index: number;
  source: string;
}

export interface Notebook {
  cells: NotebookCell[];
  kernelName: string | undefined;
  /** Indices (among code cells) that the notebook declares will raise: `metadata.nbferry.expected_errors`. */
  expectedErrors: number[];
}

export class NotebookFormatError extends Error {
  override readonly name = 'NotebookFormatError';
}

export function parseNotebook(text: string, origin = 'notebook'): Notebook {
  let json: {
    nbformat?: number;
    cells?: { cell_type?: string; id?: string; source?: string | string[] }[];
    metadata?: { kernelspec?: { name?: string }; nbferry?: { expected_errors?: number[] } };
  };
  try {
    json = JSON.parse(text) as typeof json;
  } catch (error) {
    throw new NotebookFormatError(`${origin} is not valid JSON: ${(error as Error).message}`);
  }
  if (json.nbformat !== 4 || !Array.isArray(json.cells)) {
    throw new NotebookFormatError(`${origin} is not an nbformat 4 notebook (nbformat=${String(json.nbformat)})`);
  }
  const cells = json.cells
    .filter((cell) => cell.cell_type === 'code')
    .map((cell, index) => ({
      id: cell.id ?? `cell-${index}`,
      index,
      source: Array.isArray(cell.source) ? cell.source.join('') : (cell.source ?? ''),
    }));
  return {
    cells,
    kernelName: json.metadata?.kernelspec?.name,
    expectedErrors: json.metadata?.nbferry?.expected_errors ?? [],
  };
}
