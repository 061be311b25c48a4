/** Reading a structured answer from a kernel without touching its user namespace or history. */
import type { CallOptions, KernelClient } from '@nbferry/kernel';
import { internalCode } from '@nbferry/recorder';

/** Default bound of a query when the caller sets none (a busy kernel answers after its cell). */
export const QUERY_TIMEOUT_MS = 60_000;

/**
 * Runs `code` silently, then evaluates `jsonExpression` (a Python expression giving a JSON str)
 * as a user expression. The kernel hex-encodes the str, so the repr in text/plain needs no
 * unescaping: strip its quotes, decode, parse. Throws with the kernel's error when either fails.
 */
export async function evaluateJson<T>(client: KernelClient, code: string, jsonExpression: string, options: CallOptions & { subshellId?: string } = {}): Promise<T> {
  const result = await client.execute(internalCode(code), {
    ...options,
    timeoutMs: options.timeoutMs ?? QUERY_TIMEOUT_MS, // nbferry's own code: always bounded
    silent: true,
    storeHistory: false,
    userExpressions: { value: `(${jsonExpression}).encode().hex()` },
  });
  const value = result.userExpressions.value;
  if (result.status !== 'ok' || !value || value.status !== 'ok') {
    const why = result.error ?? (value?.status === 'error' ? value : undefined);
    throw new Error(why ? `${why.ename}: ${why.evalue}` : 'no answer');
  }
  const hex = String(value.data['text/plain']).replace(/^'|'$/g, '');
  return JSON.parse(Buffer.from(hex, 'hex').toString('utf8')) as T;
}
