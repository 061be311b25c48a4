/** What a cell printed or displayed, in order, as the kernel published it on iopub. */
import type { JsonObject, JsonValue, JupyterMessage } from '@nbferry/protocol';

export type Output =
  | { type: 'stream'; name: 'stdout' | 'stderr'; text: string }
  | { type: 'display_data' | 'update_display_data'; data: Record<string, JsonValue>; metadata: JsonObject }
  | { type: 'execute_result'; data: Record<string, JsonValue>; metadata: JsonObject; executionCount: number }
  | { type: 'error'; ename: string; evalue: string; traceback: string[] }
  | { type: 'clear_output'; wait: boolean };

/** Turns an iopub message into an Output, or undefined for messages that are not outputs. */
export function toOutput(msg: JupyterMessage): Output | undefined {
  const c = msg.content as Record<string, unknown>;
  switch (msg.header.msg_type) {
    case 'stream':
      return { type: 'stream', name: c.name === 'stderr' ? 'stderr' : 'stdout', text: String(c.text ?? '') };
    case 'display_data':
    case 'update_display_data':
      return {
        type: msg.header.msg_type,
        data: (c.data ?? {}) as Record<string, JsonValue>,
        metadata: (c.metadata ?? {}) as JsonObject,
      };
    case 'execute_result':
      return {
        type: 'execute_result',
        data: (c.data ?? {}) as Record<string, JsonValue>,
        metadata: (c.metadata ?? {}) as JsonObject,
        executionCount: Number(c.execution_count),
      };
    case 'error':
      return {
        type: 'error',
        ename: String(c.ename),
        evalue: String(c.evalue),
        traceback: (c.traceback ?? []) as string[],
      };
    case 'clear_output':
      return { type: 'clear_output', wait: Boolean(c.wait) };
    default:
      return undefined;
  }
}

/** Appends, merging a stream chunk into the previous output of the same stream (as notebooks show it). */
export function appendOutput(outputs: Output[], output: Output): void {
  const last = outputs.at(-1);
  if (output.type === 'stream' && last?.type === 'stream' && last.name === output.name) {
    last.text += output.text;
  } else {
    outputs.push(output.type === 'stream' ? { ...output } : output);
  }
}

/** All text of one stream, concatenated. */
export function streamText(outputs: readonly Output[], name: 'stdout' | 'stderr'): string {
  return outputs.map((o) => (o.type === 'stream' && o.name === name ? o.text : '')).join('');
}
