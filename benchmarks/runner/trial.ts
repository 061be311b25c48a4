/**
 * One repeat of one notebook: the unrecorded source run (shared by rerun-all, dill and
 * pickle-all), then each method in fresh kernels, one after another (never in parallel: two
 * cores). The recorded and unrecorded runs alternate which goes first across repeats, and the
 * recorded one goes first on the first repeat, so a cold disk cache never flatters nbferry.
 */
import type { KishuEnv } from './kishu-env.js';
import type { TrialContext } from './methods/context.js';
import { describeError, trial } from './methods/context.js';
import { runElasticNotebook } from './methods/elasticnotebook.js';
import { runKishu } from './methods/kishu.js';
import { runNbferry } from './methods/nbferry.js';
import { runPlainSource, type PlainSource, type SnapshotMethod } from './methods/plain-source.js';
import { rerunAll } from './methods/rerun-all.js';
import { restoreSnapshot } from './methods/snapshot-restore.js';
import { METHODS, type MethodName, type MethodTrial, type NotebookTrial } from './types.js';

export interface TrialPlan {
  methods: readonly MethodName[];
  kishu: KishuEnv | undefined;
  elasticNotebook: string | undefined;
}

export async function runTrial(ctx: TrialContext, plan: TrialPlan, repeat: number): Promise<NotebookTrial> {
  const wants = (m: MethodName) => plan.methods.includes(m);
  const results = new Map<MethodName, MethodTrial>();
  const nbferryFirst = repeat % 2 === 0;

  if (nbferryFirst && wants('nbferry')) results.set('nbferry', await runNbferry(ctx));
  const snapshots = (['dill', 'pickle-all'] as const).filter((m): m is SnapshotMethod => wants(m));
  let plain: PlainSource | undefined;
  let plainFailure: string | undefined;
  try {
    plain = await runPlainSource(ctx, snapshots);
  } catch (error) {
    plainFailure = `unrecorded source run: ${describeError(error)}`;
  }
  if (!nbferryFirst && wants('nbferry')) results.set('nbferry', await runNbferry(ctx));
  if (wants('nbferry-precopy')) results.set('nbferry-precopy', await runNbferry(ctx, { precopy: true }));

  for (const method of ['rerun-all', 'dill', 'pickle-all'] as const) {
    if (!wants(method)) continue;
    if (!plain) results.set(method, trial(method, { status: 'failed', failure: plainFailure ?? 'no source run' }));
    else results.set(method, method === 'rerun-all' ? await rerunAll(ctx, plain) : await restoreSnapshot(ctx, method, plain));
  }
  if (wants('kishu')) {
    const env = plan.kishu;
    if (!env) results.set('kishu', trial('kishu', { status: 'unavailable', failure: 'unavailable: Kishu environment not prepared' }));
    else if ('unavailable' in env) results.set('kishu', trial('kishu', { status: 'unavailable', failure: `unavailable: ${env.unavailable}` }));
    else results.set('kishu', await runKishu(ctx, env.python));
  }
  if (wants('elasticnotebook')) {
    results.set(
      'elasticnotebook',
      plan.elasticNotebook
        ? await runElasticNotebook(ctx, plan.elasticNotebook)
        : trial('elasticnotebook', { status: 'not-run', failure: 'not run (no installation given: --elasticnotebook PATH)' }),
    );
  }

  const unrecorded: NotebookTrial['unrecorded'] = plain?.run ?? { kernelStartMs: Number.NaN, cellMs: Number.NaN, peakRssMiB: null, failure: plainFailure };
  for (const result of results.values()) {
    if (result.overhead) {
      result.overhead = { ...result.overhead, unrecordedCellMs: unrecorded.cellMs, unrecordedPeakRssMiB: unrecorded.peakRssMiB };
    }
  }
  return {
    notebook: ctx.notebook.path,
    repeat,
    unrecorded,
    methods: METHODS.filter((m) => results.has(m)).map((m) => results.get(m)!),
  };
}
