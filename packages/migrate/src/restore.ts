/**
 * Restore: replay a checkpoint's plan in a kernel (load blobs, rerun cells with their recorded RNG
 * state), fall back to recomputing whatever fails to load or rerun, then verify every variable.
 *
 * Fallback: a blob that fails its checksum or unpickling, or a rerun that raises, is marked
 * unavailable; the problem is re-planned without it, the names the checkpoint owns are cleared and
 * the new program runs from the start. The fallback never reruns a cell the checkpoint's plan chose
 * not to because of its side effects or nondeterminism, and never recomputes a value whose cell is
 * nondeterministic (it would come back different): such a variable is lost, and reported lost.
 *
 * The target's other variables are never touched. If the target already binds names the checkpoint
 * would overwrite or delete, restore refuses (TargetNamespaceConflictError) unless `replaceExisting`.
 */
import { dirname } from 'node:path';
import { cancellable, type CallOptions, type KernelClient } from '@nbferry/kernel';
import { type PlanningProblem, type ReplicationPlan, type RestoreStep } from '@nbferry/planner';
import { Recorder, SHIM_TIMEOUTS_MS, type BackgroundLoadEvent, type CellRecord } from '@nbferry/recorder';
import { openCheckpoint, type Environment, type StoredCheckpoint, type TrustOptions } from '@nbferry/store';
import { assertCheckpointBody } from './body-check.js';
import { planOrDrop } from './checkpoint.js';
import { compareEnvironments, type Mismatch } from './compatibility.js';
import { kernelEnvironment } from './environment.js';
import { commitLineage } from './lineage.js';
import { replayedState } from './replayed-measurement.js';
import { IncompatibleEnvironmentError, MigrationError, RestoreFallbackError, TargetNamespaceConflictError } from './errors.js';
import { evaluateJson } from './kernel-json.js';
import { deleteNames, ownedNames } from './owned-names.js';
import type { CheckpointBody } from './manifest-body.js';
import type { ProgressListener } from './progress.js';
import { unsharedSplits } from './split-sharing.js';
import { fingerprints, load, loadBackground, placeholders, setRng, type LoadResult, type LoadSpec } from './shim-api.js';
import { remoteBlobSource } from './remote-blobs.js';
import { deferProgram, rerunsArgument, rerunStep, type DeferredProgram, type DeferredRerunCell, type DeferredRerunResult } from './deferred-reruns.js';
import { verify, type VerificationReport } from './verification.js';
import type { PreparedTarget } from './warm-up.js';

export interface RestoreOptions extends CallOptions, TrustOptions {
  /** Proceed even if the target's Python or package versions differ from the checkpoint's. */
  force?: boolean;
  /** Report ok although some rerun variables came back with a different value (see VerificationInput). */
  allowRecomputedDifferent?: boolean;
  /**
   * Restore into a kernel that already binds some of the checkpoint's names (or names its reruns
   * write): they are overwritten or deleted. Without it such a restore is refused.
   */
  replaceExisting?: boolean;
  onProgress?: ProgressListener;
  /** Blobs to read from here instead of the checkpoint directory (live migration passes buffers). */
  blobSource?: BlobSource;
  /** The target, readied by `prepareTarget` while the checkpoint was written (used if it is this target). */
  prepared?: PreparedTarget;
  /**
   * Groups (planner ids) the target already holds at exactly the checkpoint's values (checkout.ts
   * proves it): they are neither loaded nor recomputed, and count as restored. Ignored after a
   * fallback (which clears every name the checkpoint owns and starts over).
   */
  unchangedGroups?: ReadonlyMap<string, readonly string[]>;
  /**
   * Fingerprint every variable after the restore, also those an intact load already proves
   * (`proven` in the verification). Default false.
   */
  fullVerification?: boolean;
  /**
   * A usable prompt at once: `onUsable` is called as soon as the target is checked and attached; the
   * program then runs in the kernel (deferred-reruns.ts): loads on a worker thread (smallest first),
   * reruns on its main thread between cells, in order. A cell that touches a name still in flight
   * waits for exactly that name (python-shim background.py, reruns.py). The restore resolves once the
   * last group has arrived and the last rerun has run, everything verified. A load or rerun that
   * fails after the hand-over is reported lost with why (no fallback then: the user's cells may
   * already have run). Blobs read from a directory only.
   */
  background?: boolean;
  onUsable?: (event: UsableEvent) => void;
  /**
   * Aborted mid-program: interrupt the target (default true), so it does not finish half a restore,
   * and remove what it bound of the checkpoint's names; with `replaceExisting` (undo, checkout) they
   * may have held the user's values before, and are left.
   * A pipelined restore passes false: the interrupt would land inside whatever the target runs then
   * (an unpickle importing numpy, which a KeyboardInterrupt leaves half-imported and broken); it
   * removes what the target bound instead, after the target's in-flight request.
   */
  interruptOnAbort?: boolean;
}

export interface UsableEvent {
  /** Since the restore started. */
  ms: number;
  /** Names still arriving. */
  inFlight: string[];
}

/**
 * Where load steps get their bytes: files in a directory, buffers already in memory, or a loader
 * of the caller's (e.g. one that uploads a blob in chunks over a link that limits message size).
 */
export type BlobSource =
  /** Blob files in `dir` (format 1), chunks in `chunksDir` (formats 2 and 3). */
  | { kind: 'dir'; dir: string; chunksDir?: string }
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
  timings: {
    compatibilityMs: number;
    attachMs: number;
    replayMs: number;
    verifyMs: number;
    totalMs: number;
    /** With `background`: when the kernel was handed over (onUsable), and when the last group arrived. */
    usableMs?: number;
    lastByteMs?: number;
  };
  loadedGroups: number;
  /** Bytes of the blobs loaded (all loads of the program that completed). */
  loadedBytes?: number;
  /** Groups left as the target held them (`unchangedGroups` honoured). */
  keptGroups?: string[];
  rerunCells: number;
  /** With `background`: the groups loaded after the kernel was handed over. */
  backgroundGroups?: number;
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
  // With a key, an untrusted checkpoint is refused here: before any blob is loaded or cell rerun.
  const trust: TrustOptions = { key: options.key, trustUnsigned: options.trustUnsigned };
  const checkpoint = typeof source === 'string' ? await openCheckpoint<CheckpointBody>(source, trust) : source;
  if (typeof source !== 'string') checkpoint.checkTrust(trust);
  assertCheckpointBody(checkpoint.manifest.body, checkpoint.dir);
  // A checkpoint in a remote store (an object store): its chunks come through the coordinator.
  const blobs: BlobSource = options.blobSource ?? (checkpoint.remote ? remoteBlobSource(checkpoint, checkpoint.remote) : { kind: 'dir', dir: checkpoint.blobsDir, chunksDir: checkpoint.chunksDir });
  const report = await replay(checkpoint.manifest, blobs, target, options);
  // The target's state continues this checkpoint: its next checkpoint in this store names it as
  // parent, and measures again only what did not come back equal to it.
  const call: CallOptions = { signal: options.signal, timeoutMs: options.timeoutMs };
  const state = await replayedState(report.recorder, checkpoint.manifest, report.verification, call);
  await commitLineage(report.recorder, { root: dirname(dirname(checkpoint.dir)), id: checkpoint.manifest.id, manifest: checkpoint.manifest, ...state }, { ...call, replacesState: true });
  return report;
}

/** The manifest fields a replay needs (a stored checkpoint, or one streamed in live migration). */
export interface ReplayInput {
  environment: StoredCheckpoint['manifest']['environment'];
  blobs: StoredCheckpoint['manifest']['blobs'];
  body: CheckpointBody;
}

export async function replay(input: ReplayInput, blobs: BlobSource, target: KernelClient, options: RestoreOptions = {}): Promise<RestoreReport> {
  // The checkpoint's names this target was found not to bind before: what an abort may remove.
  const absentBefore = new Set<string>();
  try {
    return await replayOrThrow(input, blobs, target, options, absentBefore);
  } catch (error) {
    if (options.signal?.aborted && options.interruptOnAbort !== false) await stopHalfRestore(target, absentBefore);
    throw error;
  }
}

/**
 * Aborted mid-program (best effort, each step bounded): interrupt the cell the target runs for us;
 * wait for a shell round trip, so that the interrupted request has ended (ipykernel aborts execute
 * requests queued behind an interrupted cell: the user's next one would be); then remove what the
 * half-run program may have bound among the names the target did not have.
 */
async function stopHalfRestore(target: KernelClient, absentBefore: ReadonlySet<string>): Promise<void> {
  const bounded: CallOptions = { timeoutMs: 2000 };
  await target.interrupt(bounded).catch(() => {});
  await target.kernelInfo(bounded).catch(() => {});
  await deleteNames(target, absentBefore, bounded).catch(() => {});
}

async function replayOrThrow(
  input: ReplayInput,
  blobs: BlobSource,
  target: KernelClient,
  options: RestoreOptions,
  absentBefore: Set<string>,
): Promise<RestoreReport> {
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
  // Fingerprints taken with a hash this kernel lacks (xxh3-128 without the xxhash package) cannot
  // be compared here: nothing is hashed, intact loads still prove what they bound, and what was
  // recomputed is reported unverifiable, with why.
  const comparable = recorder.hello.hashAlgos?.includes(body.fingerprints.algo) ?? true;
  const algo = comparable ? body.fingerprints.algo : (recorder.hello.defaultAlgo ?? 'sha256');

  const owned = ownedNames(body.problem);
  if (!options.replaceExisting) {
    const clash = (await userNames(target, call)).filter((name) => owned.has(name));
    if (clash.length > 0) throw new TargetNamespaceConflictError(clash);
    for (const name of owned) absentBefore.add(name);
  }

  const records = new Map(body.history.executions.map((r) => [r.seq, r]));
  const blobByGroup = new Map(input.blobs.map((b) => [b.group, b]));
  const rngBySeq = new Map(body.rng.map((s) => [s.seq, s]));
  // Only what was saved can be loaded: every other group is recompute-only from here on. Risky
  // cells the plan did not rerun stay that way whatever fails (their effects would happen again).
  const plannedReruns = new Set(body.plan.rerun);
  let problem: PlanningProblem = {
    ...body.problem,
    cells: body.problem.cells.map((c) =>
      (c.sideEffects || c.nondeterministic) && !plannedReruns.has(c.id) ? { ...c, replayable: false } : c,
    ),
    groups: body.problem.groups.map((g) =>
      blobByGroup.has(g.id) ? g : { ...g, serializable: false, reason: g.reason ?? 'not saved in this checkpoint' },
    ),
  };
  let plan = body.plan;
  let kept = options.unchangedGroups ? keptGroups(body.plan, body.problem, options.unchangedGroups) : new Set<string>();
  const unrecoverable = new Map(body.unrecoverable.map((u) => [u.name, u.reason]));
  const fallbacks: string[] = [];
  let loadedGroups = 0;
  let loadedBytes = 0;
  let rerunCells = 0;
  let steps: StepTiming[] = [];
  // Bytes of every load in the current program, and of the loads finished so far (progress).
  let loadTotal = 0;
  let loadDone = 0;

  // Each fallback removes at least one cell or group from the problem (re-planning drops what no
  // longer has a way back), so more attempts than the original problem has parts means a bug.
  const maxFallbacks = problem.cells.length + problem.groups.length;
  let background: BackgroundLoads | undefined;
  // With `background`, the whole program runs after the hand-over (deferred-reruns.ts): the reruns
  // on the kernel's main thread (their results below), the loads on its worker thread.
  let deferred: DeferredRerunCell[] = [];
  let deferredResults: DeferredRerunResult[] = [];
  let lastBinder = new Map<string, RestoreStep>();
  for (let attempt = 0; ; attempt++) {
    steps = [];
    deferred = [];
    deferredResults = [];
    const keptNames = new Set([...kept].flatMap((g) => options.unchangedGroups?.get(g) ?? []));
    const program = kept.size === 0 ? plan.program : withoutKept(plan, problem, kept, keptNames);
    let failure: Awaited<ReturnType<typeof runProgram>>;
    if (options.background && blobs.kind === 'dir' && program.length > 0) {
      const handed = deferProgram(program, problem);
      lastBinder = handed.lastBinder;
      const cells = deferredCells(handed);
      failure = 'message' in cells ? cells : undefined;
      if (!failure) {
        background = await startBackground(handed, cells as DeferredRerunCell[]);
        // Refused (a file missing): the whole program now, with the usual fallback.
        if (background) deferred = cells as DeferredRerunCell[];
        else failure = await runProgram(program);
      }
    } else {
      failure = await runProgram(program);
    }
    if (!failure) break;
    fallbacks.push(failure.message);
    progress({ phase: 'fallback', reason: failure.message });
    problem = failure.exclude(problem, unrecoverable);
    const replanned = planOrDrop(problem);
    problem = replanned.problem;
    plan = replanned.plan;
    // Say what set it off: "not saved in this checkpoint" alone would hide the real cause.
    for (const u of replanned.unrecoverable) unrecoverable.set(u.name, `${u.reason}; after: ${failure.message}`);
    // Start over without what the half-run program bound (it may be wrong versions); only names
    // the checkpoint owns, never the target's other variables.
    await deleteNames(target, owned, call);
    kept = new Set();
    if (attempt > maxFallbacks) throw new RestoreFallbackError(fallbacks);
  }
  // The shim deletes the strays itself after the last deferred rerun (one may still read them).
  if (deferred.length === 0) await deleteNames(target, plan.strayNames, call);
  const t3 = performance.now();

  progress({ phase: 'verify' });
  const expected = new Map(Object.entries(body.fingerprints.values));
  // Kept names were proven equal before the restore (their fingerprints, checkout.ts): not hashed again.
  const keptNames = new Set([...kept].flatMap((g) => options.unchangedGroups?.get(g) ?? []));
  // An intact load proves what it bound (faithful types, same package versions): not hashed
  // again. Nor is what had no fingerprint at checkpoint (it is unverifiable whatever it holds).
  // Both are only checked to be present. Names loading in the background are fingerprinted by the
  // kernel as they arrive (those a load proves are not).
  const inFlight = new Set([...(background?.names ?? []), ...deferred.flatMap((d) => rebound(d.step.cell))]);
  const proven = options.fullVerification || mismatches.length > 0 ? new Set<string>() : provenByLoad(plan, problem, body.fingerprints.faithful);
  const unhashed = options.fullVerification && comparable
    ? new Set<string>()
    : new Set([...expected.keys()].filter((n) => !keptNames.has(n) && !inFlight.has(n) && (!comparable || proven.has(n) || expected.get(n) === null)));
  const toHash = [...expected.keys()].filter((n) => !keptNames.has(n) && !unhashed.has(n) && !inFlight.has(n));
  const present = toHash.length > 0 ? await fingerprints(recorder, toHash, algo, call) : {};
  const actual = new Map<string, string | null>([...keptNames].map((n) => [n, expected.get(n) ?? null]));
  for (const [name, fp] of Object.entries(present)) {
    if (fp.error === 'not defined') continue;
    actual.set(name, fp.reliable ? fp.digest : null);
  }
  if (unhashed.size > 0) {
    const bound = new Set(await boundNames(recorder, [...unhashed], call));
    for (const name of unhashed) if (bound.has(name)) actual.set(name, null);
  }
  let usableMs: number | undefined;
  let lastByteMs: number | undefined;
  if (options.background) {
    usableMs = performance.now() - t0;
    options.onUsable?.({ ms: usableMs, inFlight: [...inFlight] });
  }
  await runDeferred();
  const failedLate = new Set<string>();
  for (const [index, result] of deferredResults.entries()) {
    const { step, record, verify: checked } = deferred[index]!;
    const label = `[${record.executionCount ?? step.cell}] ${firstLine(record.code)}`;
    if (!result.ok) {
      const why = `rerunning cell ${label} after the kernel was handed over ${result.skipped ? 'was skipped' : 'failed'} (${result.error})`;
      for (const name of rebound(step.cell)) {
        actual.delete(name);
        // The first failure is the cause; a later rerun skipped because of it would hide it.
        if (!failedLate.has(name)) unrecoverable.set(name, `${why}; restore again without background to fall back to loading or recomputing it another way`);
        failedLate.add(name);
      }
      fallbacks.push(why);
      continue;
    }
    rerunCells += 1;
    steps.push({ label: `run ${label} after the hand-over`, ms: (result.seconds ?? 0) * 1000 });
    for (const name of checked) {
      const fp = result.fingerprints?.[name];
      if (fp) actual.set(name, fp.reliable ? fp.digest : null);
      else actual.delete(name);
    }
  }
  if (background) {
    const arrived = await background.arrived;
    lastByteMs = performance.now() - t0;
    for (const event of arrived) {
      const step = background.steps[event.index ?? -1];
      if (!step) continue;
      if (!event.ok) {
        const why = `${event.error?.kind}: ${event.error?.message}`;
        for (const name of step.names) {
          unrecoverable.set(name, `loading it in the background failed after the kernel was handed over (${why}); restore again without background loading to fall back to recomputing it`);
        }
        fallbacks.push(`background load of ${step.names.join(', ')} failed (${why})`);
        continue;
      }
      loadedGroups += 1;
      loadedBytes += event.bytes ?? 0;
      steps.push({ label: `load ${step.group} (${step.names.join(', ')}) in the background`, ms: (event.seconds ?? 0) * 1000 });
      // Bound; proven or fingerprinted below. A name a later rerun binds again is that rerun's.
      for (const name of event.names ?? []) if (lastBinder.get(name) === step) actual.set(name, null);
      for (const [name, fp] of Object.entries(event.fingerprints ?? {})) actual.set(name, fp.reliable ? fp.digest : null);
    }
  }
  const method = new Map(plan.variables.map((v) => [v.name, v.decision === 'serialize' ? ('load' as const) : ('rerun' as const)]));
  const unshared = await unsharedSplits(recorder, problem, plan, call);
  const verification = verify({
    expected,
    actual,
    method,
    failures: unrecoverable,
    proven,
    unshared,
    allowRecomputedDifferent: options.allowRecomputedDifferent,
    ...(comparable ? {} : { uncompared: `not compared: the checkpoint's fingerprints are ${body.fingerprints.algo}, which this kernel cannot compute (install xxhash in its Python)` }),
  });
  const t4 = performance.now();
  await recorder.sync(call);

  return {
    verification,
    plan,
    fallbacks,
    mismatches,
    timings: { compatibilityMs: t1 - t0, attachMs: t2 - t1, replayMs: t3 - t2, verifyMs: t4 - t3, totalMs: t4 - t0, usableMs, lastByteMs },
    loadedGroups,
    backgroundGroups: background?.steps.length,
    loadedBytes,
    keptGroups: [...kept],
    rerunCells,
    steps,
    recorder,
  };

  /** The names a cell of the problem writes or deletes. */
  function rebound(cellId: number): string[] {
    const cell = problem.cells.find((c) => c.id === cellId);
    return cell ? [...cell.writes, ...cell.deletes] : [];
  }

  /** The deferred reruns with their recorded cells, or the failure of a cell missing from the history. */
  function deferredCells(handed: DeferredProgram): DeferredRerunCell[] | NonNullable<Awaited<ReturnType<typeof runProgram>>> {
    const cells: DeferredRerunCell[] = [];
    for (const { step, waitFor } of handed.reruns) {
      const record = records.get(step.cell) as CellRecord | undefined;
      if (!record) return { message: `cell ${step.cell} is not in the checkpoint's history`, exclude: (p) => markUnreplayable(p, step.cell) };
      // Verified as this rerun leaves it when no later step binds it again.
      const verify = rebound(step.cell).filter((n) => comparable && body.fingerprints.values[n] !== undefined && handed.lastBinder.get(n) === step);
      cells.push({ step, record, waitFor, verify });
    }
    return cells;
  }

  /** Runs (or collects, where a cell already ran them) the deferred reruns, in order. */
  async function runDeferred(): Promise<void> {
    for (let index = deferredResults.length; index < deferred.length; index++) {
      const { step, record } = deferred[index]!;
      progress({ phase: 'run', cell: step.cell, label: firstLine(record.code), index, total: deferred.length });
      deferredResults.push(await rerunStep(recorder, index, call));
    }
  }

  /** Runs a program; returns what failed (and how to exclude it from the problem), or undefined. */
  async function runProgram(
    program: readonly RestoreStep[],
  ): Promise<{ message: string; exclude: (p: PlanningProblem, lost: Map<string, string>) => PlanningProblem } | undefined> {
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
            const message = `loading ${blob.variables.join(', ')} failed (${result?.error?.kind}: ${result?.error?.message})`;
            return { message, exclude: (p, lost) => excludeBlob(p, s.group, message, lost) };
          }
          loadedGroups += 1;
          loadedBytes += blobByGroup.get(s.group)?.bytes ?? 0;
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
      const envUndo = rng ? await setRng(recorder, rng, call) : undefined;
      // `del old` needs `old` bound, whatever its value: a placeholder if nothing brought it back.
      const deletes = problem.cells.find((c) => c.id === step.cell)?.deletes ?? [];
      const placed = deletes.length > 0 ? await placeholders(recorder, { bind: deletes }, call) : [];
      const started = performance.now();
      const result = await target.execute(record.code, { ...call, storeHistory: false, cellId: record.cellId ?? undefined }).catch(async (error: unknown) => {
        if (envUndo) await setRng(recorder, envUndo, call).catch(() => undefined); // best effort: the kernel may be gone
        throw error;
      });
      if (envUndo) await setRng(recorder, envUndo, call);
      if (placed.length > 0) await placeholders(recorder, { clear: placed }, call);
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
    const specs = groups.map((group, i) => loadSpec(group, binds[i]!));
    if (blobs.kind === 'dir') {
      const files = groups.map((group, i) => withFiles(specs[i]!, group));
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
        const results = await load(recorder, files, { ...call, dir: blobs.dir, chunksDir: blobs.chunksDir, progress: options.onProgress !== undefined });
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

  function loadSpec(group: string, bind: string[]): LoadSpec {
    const blob = blobByGroup.get(group)!;
    const spec: LoadSpec = { ...checksumField(blob.checksum), bytes: blob.bytes, names: blob.variables, bind };
    return blob.chunkBytes ? { ...spec, chunkBytes: blob.chunkBytes } : spec;
  }

  function withFiles(spec: LoadSpec, group: string): LoadSpec {
    const blob = blobByGroup.get(group)!;
    return blob.chunks ? { ...spec, chunks: blob.chunks } : { ...spec, file: blob.file };
  }

  /** Starts the loads on the kernel's worker thread; undefined when the kernel refused (a file missing). */
  async function startBackground(handed: DeferredProgram, reruns: readonly DeferredRerunCell[]): Promise<BackgroundLoads | undefined> {
    if (blobs.kind !== 'dir') return undefined;
    const events: BackgroundLoadEvent[] = [];
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    // Listening before asking: the first group may arrive before the reply.
    const unsubscribe = recorder.events.on('backgroundLoad', (event) => (event.done ? finish() : events.push(event)));
    // What an intact load proves (as in the verification below) is bound, not fingerprinted.
    const proven = options.fullVerification || mismatches.length > 0 ? new Set<string>() : provenByLoad(plan, problem, body.fingerprints.faithful);
    const hashed = (names: readonly string[]) => names.filter((n) => comparable && !proven.has(n) && (body.fingerprints.values[n] ?? null) !== null);
    const later = handed.loads.map((l) => l.step);
    const specs = handed.loads.map(({ step: s, after }) => ({
      ...withFiles(loadSpec(s.group, s.names), s.group),
      after,
      verify: hashed(s.names).filter((n) => handed.lastBinder.get(n) === s),
    }));
    const started = await loadBackground(recorder, specs, {
      ...call,
      dir: blobs.dir,
      chunksDir: blobs.chunksDir,
      algo,
      reruns: reruns.length > 0 ? rerunsArgument(reruns, problem, rngBySeq, plan.strayNames, algo) : undefined,
    }).catch((error: unknown) => {
      unsubscribe();
      throw error;
    });
    if (!started.started) {
      unsubscribe();
      return undefined;
    }
    const arrived = untilArrived(finished, target, call).then(() => events).finally(unsubscribe);
    arrived.catch(() => {}); // awaited after the hand-over; this only avoids an unhandled rejection meanwhile
    return { steps: later, names: started.names ?? later.flatMap((s) => s.names), arrived };
  }
}

/**
 * Which of the offered unchanged groups the restore can leave alone: a rerun the program still needs
 * must not rebind any of their names (the program would reload them after it), so such groups are
 * dropped from the kept set until nothing changes.
 */
function keptGroups(plan: ReplicationPlan, problem: PlanningProblem, offered: ReadonlyMap<string, readonly string[]>): Set<string> {
  const kept = new Set([...offered.keys()].filter((g) => problem.groups.some((p) => p.id === g)));
  for (;;) {
    const keptNames = new Set([...kept].flatMap((g) => offered.get(g) ?? []));
    const writes = new Set(neededReruns(plan, problem, kept, keptNames).flatMap((cell) => problem.cells.find((c) => c.id === cell)?.writes ?? []));
    const clobbered = [...kept].filter((g) => (offered.get(g) ?? []).some((name) => writes.has(name)));
    if (clobbered.length === 0) return kept;
    for (const g of clobbered) kept.delete(g);
  }
}

/**
 * Reruns that produce a group not kept, with every rerun they depend on, except a prerequisite
 * whose only use is a kept name at its active version (the target holds that very value).
 */
function neededReruns(plan: ReplicationPlan, problem: PlanningProblem, kept: ReadonlySet<string>, keptNames: ReadonlySet<string>): number[] {
  const order = new Map(problem.cells.map((c, i) => [c.id, i]));
  const lastWriterBefore = (cell: number, name: string): number | undefined => {
    for (let i = (order.get(cell) ?? 0) - 1; i >= 0; i--) {
      const c = problem.cells[i]!;
      if (c.writes.includes(name) || c.deletes.includes(name)) return c.id;
    }
    return undefined;
  };
  const servedByKept = (before: number, cell: number): boolean => {
    const reads = problem.cells[order.get(cell) ?? -1]?.reads ?? [];
    const via = reads.filter((name) => lastWriterBefore(cell, name) === before);
    return via.length > 0 && via.every((name) => keptNames.has(name) && activeWriter(problem, name)?.id === before);
  };
  const needed = new Set(plan.dependencies.cellToGroup.filter(([, group]) => !kept.has(group)).map(([cell]) => cell));
  for (let grown = true; grown; ) {
    grown = false;
    for (const [before, cell] of plan.dependencies.cellToCell) {
      if (needed.has(cell) && !needed.has(before) && !servedByKept(before, cell)) {
        needed.add(before);
        grown = true;
      }
    }
  }
  return plan.rerun.filter((cell) => needed.has(cell));
}

/** The plan's program without the loads of kept groups and the reruns only they needed. */
function withoutKept(plan: ReplicationPlan, problem: PlanningProblem, kept: ReadonlySet<string>, keptNames: ReadonlySet<string>): RestoreStep[] {
  const reruns = new Set(neededReruns(plan, problem, kept, keptNames));
  return plan.program.filter((step) => (step.kind === 'load' ? !kept.has(step.group) : reruns.has(step.cell)));
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

/**
 * A blob that cannot be loaded: its group is recomputed instead, unless a rerun cannot reproduce it
 * (its cell is nondeterministic): then it is lost, with the reason, rather than brought back
 * different and reported as recomputed.
 */
function excludeBlob(problem: PlanningProblem, groupId: string, message: string, lost: Map<string, string>): PlanningProblem {
  const group = problem.groups.find((g) => g.id === groupId);
  if (!group) return problem;
  const writer = group.names.map((name) => activeWriter(problem, name)).find((c) => c?.nondeterministic);
  if (writer) {
    for (const name of group.names) lost.set(name, `${message}; a rerun cannot reproduce it (cell ${writer.label ?? writer.id} is nondeterministic)`);
    return { ...problem, groups: problem.groups.filter((g) => g.id !== groupId) };
  }
  return markUnserializable(problem, groupId, message);
}

/** The cell that produced a name's active version, if a recorded cell did. */
function activeWriter(problem: PlanningProblem, name: string): PlanningProblem['cells'][number] | undefined {
  for (let i = problem.cells.length - 1; i >= 0; i--) {
    const cell = problem.cells[i]!;
    if (cell.deletes.includes(name)) return undefined;
    if (cell.writes.includes(name)) return cell;
  }
  return undefined;
}

/** Every name a restore of this checkpoint may bind or delete: its variables and whatever its cells write. */
/**
 * Names the program bound last by loading them (no rerun rebinds them afterwards) whose types
 * pickle faithfully: the load's checksum and unpickling prove their values.
 */
function provenByLoad(plan: ReplicationPlan, problem: PlanningProblem, faithful: readonly string[] | undefined): Set<string> {
  if (!faithful || faithful.length === 0) return new Set();
  const cells = new Map(problem.cells.map((c) => [c.id, c]));
  const lastLoaded = new Set<string>();
  for (const step of plan.program) {
    if (step.kind === 'load') {
      for (const name of step.names) lastLoaded.add(name);
      continue;
    }
    const cell = cells.get(step.cell);
    for (const name of [...(cell?.writes ?? []), ...(cell?.deletes ?? [])]) lastLoaded.delete(name);
  }
  return new Set(faithful.filter((name) => lastLoaded.has(name)));
}

/** Which of `names` the target binds, asked of the shim (a rerun cell may have broken the user's `json`). */
async function boundNames(recorder: Recorder, names: readonly string[], call: CallOptions): Promise<string[]> {
  const { result } = await recorder.request<{ bound: string[] }>('bound', { names }, call);
  return result.bound;
}

/** The target's user variables (as %who lists them). */
async function userNames(target: KernelClient, call: CallOptions): Promise<string[]> {
  return evaluateJson<string[]>(
    target,
    '',
    '__import__("json").dumps([n for n in get_ipython().user_ns if not n.startswith("_") and n not in get_ipython().user_ns_hidden])',
    call,
  );
}

function markUnserializable(problem: PlanningProblem, groupId: string, reason: string): PlanningProblem {
  return { ...problem, groups: problem.groups.map((g) => (g.id === groupId ? { ...g, serializable: false, reason } : g)) };
}

function markUnreplayable(problem: PlanningProblem, cellId: number): PlanningProblem {
  return { ...problem, cells: problem.cells.map((c) => (c.id === cellId ? { ...c, replayable: false } : c)) };
}

function firstLine(code: string): string {
  return (code.split('\n').find((l) => l.trim() !== '') ?? '').slice(0, 60);
}

type LoadStep = RestoreStep & { kind: 'load' };

interface BackgroundLoads {
  /** The loads handed to the kernel's worker, in request order (events name them by index). */
  steps: readonly LoadStep[];
  names: string[];
  /** Every group's result, once the last has arrived. */
  arrived: Promise<BackgroundLoadEvent[]>;
}

/** Resolves when `finished` does; rejects if the kernel dies, the caller aborts, or the bulk timeout passes. */
function untilArrived(finished: Promise<void>, target: KernelClient, call: CallOptions): Promise<void> {
  const timeoutMs = call.timeoutMs ?? SHIM_TIMEOUTS_MS.bulk;
  return cancellable<void>(
    { signal: call.signal, timeoutMs },
    (ms) => new MigrationError(`the background loads did not finish within ${ms} ms; the kernel keeps what has arrived`, 'BACKGROUND_LOAD_TIMEOUT'),
    (reason) => (reason instanceof Error ? reason : new Error(String(reason))),
    (resolve, reject) => {
      void finished.then(resolve);
      const off = target.events.on('dead', (error) => reject(error));
      return off;
    },
  );
}
