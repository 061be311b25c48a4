/** Reading notebooks (nbformat 4): the code cells, in order, with their ids. Pure: parses JSON text. */
import { NbferryError } from './errors.js';

export interface NotebookCell {
  /** nbformat >= 4.5 cell id, or a stable `cell-<index>` for older files. */
  id: string;
  /** Position among the code cells, from 0. */
  index: number;
  source: string;
  /**
   * The notebook says this cell raises: the `raises-exception` tag (as nbconvert and papermill
   * honour it) or its position in `metadata.nbferry.expected_errors` (indices into all cells).
   */
  expectError: boolean;
}

export interface Notebook {
  cells: NotebookCell[];
  kernelName: string | undefined;
}

export class NotebookFormatError extends NbferryError {
  override name = 'NotebookFormatError';
  constructor(message: string) {
    super(message, 'BAD_NOTEBOOK');
  }
}

export function parseNotebook(text: string, origin = 'notebook'): Notebook {
  let json: {
    nbformat?: number;
    cells?: { cell_type?: string; id?: string; source?: string | string[]; metadata?: { tags?: string[] } }[];
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
  const declared = new Set(json.metadata?.nbferry?.expected_errors ?? []);
  const cells = json.cells
    .map((cell, position) => ({ cell, position }))
    .filter(({ cell }) => cell.cell_type === 'code')
    .map(({ cell, position }, index) => ({
      id: cell.id ?? `cell-${position}`,
      index,
      source: Array.isArray(cell.source) ? cell.source.join('') : (cell.source ?? ''),
      expectError: declared.has(position) || (cell.metadata?.tags ?? []).includes('raises-exception'),
    }));
  return { cells, kernelName: json.metadata?.kernelspec?.name };
}
