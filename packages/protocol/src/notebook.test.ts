import { describe, expect, it } from 'vitest';
import { NotebookFormatError, parseNotebook } from './notebook.js';

describe('parseNotebook', () => {
  it('returns code cells in order with ids, joining list sources', () => {
    const nb = parseNotebook(
      JSON.stringify({
        nbformat: 4,
        nbformat_minor: 5,
        metadata: { kernelspec: { name: 'python3' }, nbferry: { expected_errors: [2] } },
        cells: [
          { cell_type: 'markdown', id: 'md', source: '# title' },
          { cell_type: 'code', id: 'a1', source: ['x = 1\n', 'y = 2'] },
          { cell_type: 'code', source: 'raise ValueError()' },
          { cell_type: 'code', id: 'tagged', metadata: { tags: ['raises-exception'] }, source: '1/0' },
        ],
      }),
    );
    expect(nb.cells).toEqual([
      { id: 'a1', index: 0, source: 'x = 1\ny = 2', expectError: false },
      { id: 'cell-2', index: 1, source: 'raise ValueError()', expectError: true },
      { id: 'tagged', index: 2, source: '1/0', expectError: true },
    ]);
    expect(nb.kernelName).toBe('python3');
  });

  it('rejects non-notebooks with a typed error naming the file', () => {
    expect(() => parseNotebook('{', 'a.ipynb')).toThrow(/a.ipynb is not valid JSON/);
    expect(() => parseNotebook('{"nbformat": 3, "worksheets": []}', 'old.ipynb')).toThrow(NotebookFormatError);
  });
});
