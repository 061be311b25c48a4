/**
 * Calls a function of a helper module in benchmarks/baselines/ inside a kernel, as a user
 * expression: nothing is bound in the user namespace (a `dill.dump_session` must not see the
 * harness). Helpers return JSON text; it travels hex-encoded so no repr quoting can garble it.
 */
import { fileURLToPath } from 'node:url';
import type { KernelClient } from '@nbferry/kernel';

export const BASELINES_DIR = fileURLToPath(new URL('../baselines/', import.meta.url));

export class PythonCallError extends Error {
  override readonly name = 'PythonCallError';
}

export interface PythonCall<T> {
  value: T;
  /** Wall time of the request as the coordinator saw it. */
  ms: number;
}

export async function callHelper<T>(
  client: KernelClient,
  module: string,
  fn: string,
  args: readonly string[],
  signal: AbortSignal,
  options: { inCell?: boolean } = {},
): Promise<PythonCall<T>> {
  const dir = JSON.stringify(BASELINES_DIR);
  // JSON string literals are valid Python string literals.
  const call = `__import__(${JSON.stringify(module)}).${fn}(${args.map((a) => JSON.stringify(a)).join(', ')})`;
  const setup = `(lambda s: s.path.insert(0, ${dir}) if ${dir} not in s.path else None)(__import__("sys"))`;
  const mod = `__import__(${JSON.stringify(module)})`;
  // inCell: the call runs as (silent) cell code, where IPython's builtins trap and event loop are as
  // a user's cell has them (Kishu needs that); its result is parked on the helper module.
  const code = options.inCell ? `${setup}\n${mod}.LAST_RESULT = ${call}` : '';
  const expression = options.inCell
    ? `${mod}.LAST_RESULT.encode().hex()`
    : `(${setup}, ${call})[1].encode().hex()`;
  const t0 = performance.now();
  const result = await client.execute(code, { silent: true, storeHistory: false, userExpressions: { r: expression }, signal });
  const ms = performance.now() - t0;
  const value = result.userExpressions.r;
  if (result.status !== 'ok' || !value || value.status !== 'ok') {
    const why =
      result.status !== 'ok'
        ? `${result.error?.ename ?? result.status}: ${result.error?.evalue ?? ''}`
        : value && value.status === 'error'
          ? `${value.ename}: ${value.evalue}`
          : 'no result';
    throw new PythonCallError(`${module}.${fn}: ${why}`.slice(0, 400));
  }
  const hex = String(value.data['text/plain']).replace(/^'|'$/g, '');
  return { value: JSON.parse(Buffer.from(hex, 'hex').toString('utf8')) as T, ms };
}
