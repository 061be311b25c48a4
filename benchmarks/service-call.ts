/** One JSON request to a running nbferry service, as the service benchmarks make them (an error status throws), and their shared command line. */
import { parseArgs } from 'node:util';
import type { RunningService } from '@nbferry/service';
import { serviceRequest } from '../test/support/service-api.js';

/** The token the service benchmarks start their services with. */
export const BENCH_TOKEN = 'bench-token';

export async function serviceCall<T>(running: RunningService, method: string, path: string, body?: unknown): Promise<T> {
  const { status, body: json } = await serviceRequest<T>(running.url, BENCH_TOKEN, method, path, body);
  if (status < 200 || status >= 300) throw new Error(`${method} ${path}: ${status} ${JSON.stringify(json)}`);
  return json;
}

/** The command line both service benchmarks take: `[--repeat 5] [--mib 8] [--modules numpy,pandas]`. */
export function serviceBenchArgs(): { repeat: number; mib: number; modules: string[] } {
  const { values } = parseArgs({
    options: {
      repeat: { type: 'string', default: '5' },
      mib: { type: 'string', default: '8' },
      modules: { type: 'string', default: 'numpy,pandas' },
    },
  });
  return { repeat: Number(values.repeat), mib: Number(values.mib), modules: values.modules.split(',').filter((m) => m !== '') };
}
