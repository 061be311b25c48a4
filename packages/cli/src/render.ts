/** Terminal rendering of cell outputs: text as the notebook shows it, rich data summarized. */
import type { Output } from '@nbferry/kernel';

export function renderOutput(output: Output): string {
  switch (output.type) {
    case 'stream':
      return output.text;
    case 'execute_result':
    case 'display_data':
    case 'update_display_data': {
      const text = output.data['text/plain'];
      const rich = Object.keys(output.data).filter((mime) => mime !== 'text/plain');
      const richNote = rich.length ? `[${rich.map((mime) => `${mime} ${sizeOf(output.data[mime])}`).join(', ')}]\n` : '';
      return (typeof text === 'string' ? `${text}\n` : '') + richNote;
    }
    case 'error':
      return `${output.traceback.join('\n')}\n`;
    case 'clear_output':
      return '';
  }
}

function sizeOf(value: unknown): string {
  const length = typeof value === 'string' ? value.length : JSON.stringify(value).length;
  return length >= 1024 ? `${(length / 1024).toFixed(0)} KB` : `${length} B`;
}
