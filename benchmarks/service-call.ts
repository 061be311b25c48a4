/** One JSON request to a running nbferry service, as the service benchmarks make them. */
import type { RunningService } from '@nbferry/service';

/** The token the service benchmarks start their services with. */
export const BENCH_TOKEN = 'bench-token';

export async function serviceCall<T>(running: RunningService, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${running.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${BENCH_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const json = (text ? JSON.parse(text) : undefined) as T;
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}
