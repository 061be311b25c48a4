/**
 * Restore: replay a checkpoint's plan in a kernel (load blobs, rerun cells with their recorded RNG
 * state), fall back to recomputing whatever fails to load or rerun, then verify every variable.
 *
 * Fallback: a blob that fails its checksum or unpickling, or a rerun that raises, is marked
 * unavailable; the problem is re-planned without it, the namespace is cleared and the new program
 * runs from the start. What no plan can bring back is reported lost, never reported restored.
 */
import type { CallOptions, KernelClient } from '@nbferry/kernel';
import { type PlanningProblem, type ReplicationPlan, type RestoreStep } from '@nbferry/planner';
import { Recorder, type CellRecord } from '@nbferry/recorder';
import { openCheckpoint, type Environment, type StoredCheckpoint } from '@nbferry/store';
import { planOrDrop } from './checkpoint.js';
import { compareEnvironments, type Mismatch } from './compatibility.js';
import { kernelEnvironment } from './environment.js';
import { IncompatibleEnvironmentError } from './errors.js';
import type { CheckpointBody } from './manifest-body.js';
import type { ProgressListener } from './progress.js';
import { fingerprints, load, setRng, type LoadResult, type LoadSpec } from './shim-api.js';
import { verify, type VerificationReport } from './verification.js';
import type { PreparedTarget } from './warm-up.js';

export interface RestoreOptions extends CallOptions {
  /** Proceed even if the target's Python or package versions differ from the checkpoint's. */
  force?: boolean;
  onProgress?: ProgressListener;
  /** Blobs to read from here instead of the checkpoint directory (live migration passes buffers). */
  blobSource?: BlobSource;
  /** The target, readied by `prepareTarget` while the checkpoint was written (used if it is this target). */
  prepared?: PreparedTarget;
}

/**
 * Where load steps get their bytes: files in a directory, buffers already in memory, or a loader
 * of the caller's (e.g. one that uploads a blob in chunks over a link that limits message size).
 */
export type BlobSource =
  | { kind: 'dir'; dir: string }
  | { kind: 'buffers'; buffers: Map<string, Uint8Array[]> }
  | { kind: 'custom'; load: CustomBlobLoader };

/** Loads one blob into the target through its recorder; `spec` has no byte source set yet. */
export type CustomBlobLoader = (recorder: Recorder, spec: LoadSpec, group: string, options: CallOptions) => Promise<LoadResult | undefined>;

export interface RestoreReport {
  verification: VerificationReport;
  /** The plan actually executed (after any fallback re-planning). */
  plan: ReplicationPlan;
  fallbacks: string[];
  mismatches: Mismatch[];
  timings: { compatibilityMs: number; attachMs: number; replayMs: number; verifyMs: number; totalMs: number };
  loadedGroups: number;
  rerunCells: number;
  /** Time of each load (as the kernel measured it) and rerun of the program that completed, in order. */
  steps: StepTiming[];
  recorder: Recorder;
}

export interface StepTiming {
  /** `load g3 (x, y)` or `run [4] df = ...`. */
  label: string;
  ms: number;
}

export async function restore(
  source: string | StoredCheckpoint<CheckpointBody>,
  target: KernelClient,
  options: RestoreOptions = {},
): Promise<RestoreReport> {
  const checkpoint = typeof source === 'string' ? await openCheckpoint<CheckpointBody>(source) : source;
  return replay(checkpoint.manifest, options.blobSource ?? { kind: 'dir', dir: checkpoint.blobsDir }, target, options);
}

/** The manifest fields a replay needs (a stored checkpoint, or one streamed in live migration). */
export interface ReplayInput {
  environment: StoredCheckpoint['manifest']['environment'];
  blobs: StoredCheckpoint['manifest']['blobs'];
  body: CheckpointBody;
}

export async function replay(input: ReplayInput, blobs: BlobSource, target: KernelClient, options: RestoreOptions = {}): Promise<RestoreReport> {
  const progress = options.onProgress ?? (() => {});
  const call: CallOptions = { signal: options.signal, timeoutMs: options.timeoutMs };
  const { body } = input;
  const t0 = performance.now();

  const prepared = options.prepared?.client === target ? options.prepared : undefined;
  progress({ phase: 'compatibility' });
  const targetEnv = await targetEnvironment(target, Object.keys(input.environment.packages), prepared, call);
  const mismatches = compareEnvironments(input.environment, targetEnv);
  if (mismatches.length > 0 && !options.force) throw new IncompatibleEnvironmentError(mismatches);
  const t1 = performance.now();

  progress({ phase: 'attach' });
  const recorder = prepared?.recorder ?? (await Recorder.attach(target, call));
  const t2 = performance.now();

  const records = new Map(body.history.executions.map((r) => [r.seq, r]));
  const blobByGroup = new Map(input.blobs.map((b) => [b.group, b]));
  const rngBySeq = new Map(body.rng.map((s) => [s.seq, s]));
  // Only what was saved can be loaded: every other group is recompute-only from here on.
  let problem: PlanningProblem = {
    ...body.problem,
    groups: body.problem.groups.map((g) =>
      blobByGroup.has(g.id) ? g : { ...g, serializable: false, reason: g.reason ?? 'not saved in this checkpoint' },
    ),
  };
  let plan = body.plan;
  const unrecoverable = new Map(body.unrecoverable.map((u) => [u.name, u.reason]));
  const fallbacks: string[] = [];
  let loadedGroups = 0;
  let rerunCells = 0;
  let steps: StepTiming[] = [];
  // Bytes of every load in the current program, and of the loads finished so far (progress).
  let loadTotal = 0;
  let loadDone = 0;

  for (let attempt = 0; ; attempt++) {
    steps = [];
    const failure = await runProgram(plan.program);
    if (!failure) break;
    fallbacks.push(failure.message);
    progress({ phase: 'fallback', reason: failure.message });
    problem = failure.exclude(problem);
    const replanned = planOrDrop(problem);
    problem = replanned.problem;
    plan = replanned.plan;
    // Say what set it off: "not saved in this checkpoint" alone would hide the real cause.
    for (const u of replanned.unrecoverable) unrecoverable.set(u.name, `${u.reason}; after: ${failure.message}`);
    // Start over from an empty namespace: a half-run program may have bound wrong versions.
    await target.execute('get_ipython().reset(new_session=False)', { ...call, silent: true, storeHistory: false });
    if (attempt > problem.cells.length + problem.groups.length) throw new Error('restore fallback did not converge');
  }
  await deleteNames(target, plan.strayNames, call);
  const t3 = performance.now();

  progress({ phase: 'verify' });
  const expected = new Map(Object.entries(body.fingerprints.values));
  const present = await fingerprints(recorder, [...expected.keys()], body.fingerprints.algo, call);
  const actual = new Map<string, string | null>();
  for (const [name, fp] of Object.entries(present)) {
    if (fp.error === 'not defined') continue;
    actual.set(name, fp.reliable ? fp.digest : null);
  }
  const method = new Map(plan.variables.map((v) => [v.name, v.decision === 'serialize' ? ('load' as const) : ('rerun' as const)]));
  const verification = verify({ expected, actual, method, failures: unrecoverable });
  const t4 = performance.now();
  await recorder.sync(call);

  return {
    verification,
    plan,
    fallbacks,
    mismatches,
    timings: { compatibilityMs: t1 - t0, attachMs: t2 - t1, replayMs: t3 - t2, verifyMs: t4 - t3, totalMs: t4 - t0 },
    loadedGroups,
    rerunCells,
    steps,
    recorder,
  };

  /** Runs a program; returns what failed (and how to exclude it from the problem), or undefined. */
  async function runProgram(
    program: readonly RestoreStep[],
  ): Promise<{ message: string; exclude: (p: PlanningProblem) => PlanningProblem } | undefined> {
    const total = program.length;
    loadTotal = program.reduce((sum, s) => sum + (s.kind === 'load' ? (blobByGroup.get(s.group)?.bytes ?? 0) : 0), 0);
    loadDone = 0;
    for (let index = 0; index < total; index++) {
      const step = program[index]!;
      if (step.kind === 'load') {
        // Consecutive loads from files go in one request: one round trip instead of one per group.
        const batch: (RestoreStep & { kind: 'load' })[] = [step];
        while (blobs.kind === 'dir' && program[index + batch.length]?.kind === 'load') {
          batch.push(program[index + batch.length] as RestoreStep & { kind: 'load' });
        }
        for (const [i, s] of batch.entries()) progress({ phase: 'load', group: s.group, names: s.names, index: index + i, total });
        const results = await loadGroups(batch.map((s) => s.group), batch.map((s) => s.names));
        for (const [i, s] of batch.entries()) {
          const result = results[i];
          if (!result?.ok) {
            const blob = blobByGroup.get(s.group)!;
            const message = `loading ${blob.variables.join(', ')} failed (${result?.error?.kind}: ${result?.error?.message}); recomputing instead`;
            return { message, exclude: (p) => markUnserializable(p, s.group, message) };
          }
          loadedGroups += 1;
          steps.push({ label: `load ${s.group} (${s.names.join(', ')})`, ms: (result.seconds ?? 0) * 1000 });
        }
        index += batch.length - 1;
        continue;
      }
      const record = records.get(step.cell) as CellRecord | undefined;
      if (!record) {
        return { message: `cell ${step.cell} is not in the checkpoint's history`, exclude: (p) => markUnreplayable(p, step.cell) };
      }
      progress({ phase: 'run', cell: step.cell, label: firstLine(record.code), index, total });
      const rng = rngBySeq.get(step.cell);
      if (rng) await setRng(recorder, rng, call);
      const started = performance.now();
      const result = await target.execute(record.code, { ...call, storeHistory: false, cellId: record.cellId ?? undefined });
      steps.push({ label: `run [${record.executionCount ?? step.cell}] ${firstLine(record.code)}`, ms: performance.now() - started });
      if (result.status !== 'ok') {
        const message = `rerunning cell [${record.executionCount ?? step.cell}] failed (${result.error?.ename}: ${result.error?.evalue})`;
        return { message, exclude: (p) => markUnreplayable(p, step.cell) };
      }
      rerunCells += 1;
    }
    return undefined;
  }

  /** Loads groups (with the names each binds); one result per group, in order. */
  async function loadGroups(groups: string[], binds: string[][]): Promise<(LoadResult | undefined)[]> {
    // `bind`: an early load may bind only the names later reruns will not overwrite.
    const specs = groups.map((group, i): LoadSpec => {
      const blob = blobByGroup.get(group)!;
      return { ...checksumField(blob.checksum), bytes: blob.bytes, names: blob.variables, bind: binds[i]! };
    });
    if (blobs.kind === 'dir') {
      const files = specs.map((spec, i) => ({ ...spec, file: blobByGroup.get(groups[i]!)!.file }));
      const before = loadDone;
      let last = -1;
      const report = (done: number) => {
        if (before + done === last) return;
        last = before + done;
        progress({ phase: 'bytes', op: 'load', done: last, total: loadTotal });
      };
      // The shim pushes bytes read while it reads (a large group takes seconds).
      const unsubscribe = options.onProgress ? recorder.events.on('progress', (p) => p.op === 'load' && report(Math.min(p.done, p.total))) : undefined;
      try {
        const results = await load(recorder, files, { ...call, dir: blobs.dir, progress: options.onProgress !== undefined });
        loadDone = before + specs.reduce((sum, spec) => sum + spec.bytes, 0);
        report(loadDone - before);
        return results;
      } finally {
        unsubscribe?.();
      }
    }
    if (blobs.kind === 'custom') return [await blobs.load(recorder, specs[0]!, groups[0]!, call)];
    const buffers = blobs.buffers.get(groups[0]!)!;
    return load(recorder, [{ ...specs[0]!, buffers: [0, buffers.length] }], { ...call, buffers });
  }
}

/** The target's versions of `packages`, reusing what `prepareTarget` already read. */
async function targetEnvironment(
  target: KernelClient,
  packages: string[],
  prepared: PreparedTarget | undefined,
  call: CallOptions,
): Promise<Environment> {
  if (!prepared) return kernelEnvironment(target, packages, call);
  const missing = packages.filter((p) => !prepared.packages.includes(p));
  if (missing.length === 0) return prepared.environment;
  const more = await kernelEnvironment(target, missing, call);
  return { ...prepared.environment, packages: { ...prepared.environment.packages, ...more.packages } };
}

/** The shim takes a SHA-256 as `sha256`, any other algorithm as `checksum: "<algo>:<hex>"`. */
function checksumField(checksum: string): { sha256: string } | { checksum: string } {
  return checksum.startsWith('sha256:') ? { sha256: checksum.slice('sha256:'.length) } : { checksum };
}

function markUnserializable(problem: PlanningProblem, groupId: string, reason: string): PlanningProblem {
  return { ...problem, groups: problem.groups.map((g) => (g.id === groupId ? { ...g, serializable: false, reason } : g)) };
}

function markUnreplayable(problem: PlanningProblem, cellId: number): PlanningProblem {
  return { ...problem, cells: problem.cells.map((c) => (c.id === cellId ? { ...c, replayable: false } : c)) };
}

async function deleteNames(target: KernelClient, names: readonly string[], call: CallOptions): Promise<void> {
  if (names.length === 0) return;
  const code = `for __n in ${JSON.stringify(names)}:\n    get_ipython().user_ns.pop(__n, None)\ndel __n`;
  await target.execute(code, { ...call, silent: true, storeHistory: false });
}

function firstLine(code: string): string {
  return (code.split('\n').find((l) => l.trim() !== '') ?? '').slice(0, 60);
}
