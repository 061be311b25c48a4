/** Command line of `npm run bench`. */
import { resolve } from 'node:path';
import { METHODS, SIZES, type DataSize, type MethodName } from './types.js';

export interface BenchArgs {
  corpus: string;
  size: DataSize;
  python: string;
  methods: MethodName[];
  repeat: number;
  /** Root of an ElasticNotebook checkout (its ElasticNotebook.py), run with `python`. */
  elasticNotebook: string | undefined;
  /** Substrings of notebook paths to run (all when empty). */
  only: string[];
  out: string;
  /** Budget for one method on one notebook (source run, checkpoint and restore), in seconds. */
  timeoutSec: number;
  /** Kishu's budget (it commits after every cell and can be far slower than the rest). */
  kishuTimeoutSec: number;
  /** Re-render the reports from this earlier latest.json instead of running anything. */
  fromJson: string | undefined;
}

export const USAGE = `npm run bench -- [options]
  --corpus DIR            directory of notebooks (default benchmarks/notebooks); a manifest.json there is read
  --size small|medium|large   data size (default small)
  --python PATH           Python with ipykernel and the workload libraries (default: $NBFERRY_PYTHON or .venv)
  --methods a,b,...       any of ${METHODS.join(', ')} (default: all)
  --repeat N              repeats per notebook (default 1 at small, 3 otherwise)
  --elasticnotebook PATH  an ElasticNotebook checkout to compare with (run with --python)
  --only a,b              run only notebooks whose path contains one of these
  --out DIR               where results go (default benchmarks/results)
  --timeout SEC           budget per method and notebook (default 300 at small, 1800 otherwise)
  --kishu-timeout SEC     Kishu's budget per notebook (default: --timeout)
  --from-json FILE        only re-render latest.md and the plots (into --out) from an earlier latest.json`;

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export function parseArgs(argv: readonly string[], repoRoot: string, defaultPython: string): BenchArgs {
  const values = new Map<string, string[]>();
  let current: string | undefined;
  for (const token of argv) {
    if (token.startsWith('--')) {
      const [flag, inline] = token.slice(2).split('=', 2) as [string, string | undefined];
      current = flag;
      if (!values.has(flag)) values.set(flag, []);
      if (inline !== undefined) values.get(flag)!.push(inline);
      if (flag === 'help') throw new UsageError(USAGE);
    } else if (current) {
      values.get(current)!.push(token);
    } else {
      throw new UsageError(`unexpected argument ${token}\n${USAGE}`);
    }
  }
  const known = new Set(['corpus', 'size', 'python', 'methods', 'repeat', 'elasticnotebook', 'only', 'out', 'timeout', 'kishu-timeout', 'from-json']);
  for (const flag of values.keys()) if (!known.has(flag)) throw new UsageError(`unknown option --${flag}\n${USAGE}`);
  const one = (flag: string): string | undefined => {
    const list = values.get(flag);
    if (list === undefined) return undefined;
    if (list.length !== 1) throw new UsageError(`--${flag} takes one value`);
    return list[0];
  };
  const list = (flag: string): string[] | undefined => values.get(flag)?.flatMap((v) => v.split(',')).filter((v) => v !== '');

  const size = (one('size') ?? 'small') as DataSize;
  if (!SIZES.includes(size)) throw new UsageError(`--size must be one of ${SIZES.join(', ')}`);
  const methods = (list('methods') ?? [...METHODS]) as MethodName[];
  for (const method of methods) {
    if (!METHODS.includes(method)) throw new UsageError(`unknown method ${method}; known: ${METHODS.join(', ')}`);
  }
  const repeat = positiveInt(one('repeat') ?? (size === 'small' ? '1' : '3'), 'repeat');
  const timeoutSec = positiveInt(one('timeout') ?? (size === 'small' ? '300' : '1800'), 'timeout');
  const elastic = one('elasticnotebook');
  return {
    corpus: resolve(one('corpus') ?? `${repoRoot}benchmarks/notebooks`),
    size,
    python: resolve(one('python') ?? defaultPython),
    methods: METHODS.filter((m) => methods.includes(m)),
    repeat,
    elasticNotebook: elastic === undefined ? undefined : resolve(elastic),
    only: list('only') ?? [],
    out: resolve(one('out') ?? `${repoRoot}benchmarks/results`),
    timeoutSec,
    kishuTimeoutSec: positiveInt(one('kishu-timeout') ?? String(timeoutSec), 'kishu-timeout'),
    fromJson: one('from-json') === undefined ? undefined : resolve(one('from-json')!),
  };
}

function positiveInt(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${flag} must be a positive integer`);
  return n;
}
