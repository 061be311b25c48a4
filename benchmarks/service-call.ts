/** One JSON request to a running nbferry service, as the service benchmarks make them: an error status throws. */
import type { RunningService } from '@nbferry/service';
import { serviceRequest } from '../test/support/service-api.js';

/** The token the service benchmarks start their services with. */
export const BENCH_TOKEN = 'bench-token';

export async function serviceCall<T>(running: RunningService, method: string, path: string, body?: unknown): Promise<T> {
  const { status, body: json } = await serviceRequest<T>(running.url, BENCH_TOKEN, method, path, body);
  if (status < 200 || status >= 300) throw new Error(`${method} ${path}: ${status} ${JSON.stringify(json)}`);
  return json;
}
