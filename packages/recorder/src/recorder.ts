/**
 * Recorder: installs the shim in a kernel and keeps the history graph current from its reports.
 *
 * The shim observes every user cell itself (IPython events), whichever client ran it; the recorder
 * only collects: records are pushed after each cell and can be re-read from the shim's buffer
 * (`history` since a seq), so a recorder that attaches later, or again, gets the whole history.
 */
import { Emitter, RequestTimeoutError, type CallOptions, type KernelClient } from '@nbferry/kernel';
import type { JsonObject } from '@nbferry/protocol';
import { normalizeRecord } from './wire-records.js';
import { InstalledShimVersionError, MalformedRecordError, ShimInjectionError, ShimTimeoutError } from './errors.js';
import { SHIM_TIMEOUTS_MS } from './shim-timeouts.js';
import { HistoryGraph } from './history-graph.js';
import { ShimChannel, type ShimReply } from './shim-channel.js';
import { injectionExpression, internalCode, loadShimBundle, type ShimBundle } from './shim-source.js';

export const SHIM_COMM_TARGET = 'nbferry';

export interface ShimHello {
  version: string;
  python: string;
  platform: string;
  pid: number;
  /** The kernel's working directory. */
  cwd: string;
  firstSeq: number;
  lastSeq: number;
  /** Names whose origin the shim does not know (there before it attached, or set outside cells). */
  unknownProvenance: string[];
  /** Fingerprint hashes this kernel can compute (xxh3-128 only where the xxhash package is installed). */
  hashAlgos?: string[];
  /** The hash it fingerprints with unless asked for another. */
  defaultAlgo?: string;
}

/** Bytes a long shim operation has done so far (pushed while it runs, e.g. a `load` with `progress: true`). */
export interface ShimProgress {
  op: string;
  done: number;
  total: number;
}

/** Pushed by the shim as each group of a background load arrives (or fails); the last has `done`. */
export interface BackgroundLoadEvent {
  /** The group's index in the `load_background` request; absent on the last event. */
  index?: number;
  ok?: boolean;
  names?: string[];
  fingerprints?: Record<string, { digest: string | null; reliable: boolean; error?: string | null }>;
  error?: { kind: string; message: string };
  bytes?: number;
  seconds?: number;
  done?: boolean;
}

/** Pushed by a `save` with `streamChunksOver`: the next chunks of a big blob, in order, as each is stored. */
export interface SavedChunksEvent {
  /** The group's names (the blob being saved). */
  names: string[];
  /** The whole blob's size. */
  bytes: number;
  /** Bytes of the blob in the chunks pushed before these. */
  offset: number;
  chunks: string[];
  chunkBytes: number[];
}

export interface RecorderEvents extends Record<string, unknown> {
  progress: ShimProgress;
  backgroundLoad: BackgroundLoadEvent;
  savedChunks: SavedChunksEvent;
}

/**
 * `subshellId`: send the request on a background lane, a comm to the shim opened on that kernel
 * subshell (python-shim/src/nbferry_shim/lane.py), so it runs beside the main shell's cells. Lanes
 * serve only read-only operations (history, measure, save, rng_state).
 */
export type ShimCallOptions = CallOptions & { buffers?: Uint8Array[]; subshellId?: string };

export interface AttachRecorderOptions extends CallOptions {
  /** A python-shim directory to inject from (default: $NBFERRY_SHIM_DIR, else the shim shipped with this package). */
  shimRoot?: string;
  /**
   * A kernel started with a pip-installed shim of another version (nbferry_shim.launch) is refused
   * (InstalledShimVersionError): replacing it would drop the history it recorded from the first
   * cell. `true` replaces it anyway (its variables then get unknown provenance).
   */
  replaceInstalledShim?: boolean;
}

/** How the shim got into the kernel: sent by a coordinator, or installed and loaded at kernel start. */
export type ShimOrigin = 'injected' | 'installed';

export class Recorder {
  /** Replaced when the kernel restarts: a restarted kernel's history starts over. */
  graph = new HistoryGraph();
  /** Events the shim pushes besides cell records. */
  readonly events = new Emitter<RecorderEvents>();
  /** One sync per lane ('' = the main shell): a lane's must not wait behind a main one stuck behind a cell. */
  private readonly syncing = new Map<string, Promise<void>>();
  private reconnecting: Promise<void> | undefined;
  /** Background lanes' channels by subshell id (opened on first use; gone with a restart). */
  private lanes = new Map<string, Promise<ShimChannel>>();

  private constructor(
    readonly client: KernelClient,
    private channel: ShimChannel,
    public hello: ShimHello,
    private readonly options: AttachRecorderOptions,
    /** `installed`: the kernel was recording from its first cell (nothing was injected). */
    public shimOrigin: ShimOrigin,
    /** This attach put the shim in the kernel (it was not recording before): the history starts now. */
    readonly injectedByAttach = false,
  ) {
    this.graph.addPreexisting(hello.unknownProvenance);
    // A restart empties the kernel, shim included: install it again and start a new history.
    client.events.on('restarted', () => {
      this.lanes = new Map();
      this.reconnecting = this.reconnect().finally(() => (this.reconnecting = undefined));
      this.reconnecting.catch((error: unknown) => this.pushErrors.push(error as Error));
    });
  }

  /** Injects the shim (idempotent) and loads the history it has recorded so far. */
  static async attach(client: KernelClient, options: AttachRecorderOptions = {}): Promise<Recorder> {
    const bundle = await loadShimBundle(options.shimRoot);
    let recorder: Recorder | undefined;
    const { channel, hello, origin, injected } = await connect(client, bundle, options, (op, data, payload) => recorder?.onPush(op, data, payload));
    recorder = new Recorder(client, channel, hello, { shimRoot: options.shimRoot, replaceInstalledShim: options.replaceInstalledShim }, origin, injected);
    await recorder.sync(options);
    return recorder;
  }

  private async reconnect(): Promise<void> {
    const bundle = await loadShimBundle(this.options.shimRoot);
    // A restarted kernel re-runs its launcher: an installed shim is back (with a new, empty history).
    const { channel, hello, origin } = await connect(this.client, bundle, { replaceInstalledShim: this.options.replaceInstalledShim, afterRestart: true }, (op, data, payload) => this.onPush(op, data, payload));
    this.channel = channel;
    this.hello = hello;
    this.shimOrigin = origin;
    const graph = new HistoryGraph();
    graph.addPreexisting(hello.unknownProvenance);
    // Not this.sync(): requests wait for this very reconnection to finish.
    const { result } = await channel.request<{ records: unknown[] }>('history', { since: 0 });
    for (const raw of recordsOf(result)) graph.add(normalizeRecord(raw));
    this.graph = graph;
  }

  /** Sends a request to the shim (after any re-installation a restart made necessary). */
  async request<T>(op: string, args: object = {}, options: ShimCallOptions = {}): Promise<ShimReply<T>> {
    await this.reconnecting;
    const channel = options.subshellId === undefined ? this.channel : await this.lane(options.subshellId, options);
    return channel.request<T>(op, args, options);
  }

  private lane(subshellId: string, options: CallOptions): Promise<ShimChannel> {
    let lane = this.lanes.get(subshellId);
    if (!lane) {
      lane = this.client
        .openComm(SHIM_COMM_TARGET, { lane: true }, [], { signal: options.signal, timeoutMs: options.timeoutMs ?? SHIM_TIMEOUTS_MS.quick, subshellId })
        .then((comm) => new ShimChannel(comm, (op, data, payload) => this.onPush(op, data, payload), subshellId));
      const opened = lane;
      opened.catch(() => {
        if (this.lanes.get(subshellId) === opened) this.lanes.delete(subshellId); // open again next time
      });
      this.lanes.set(subshellId, opened);
    }
    return lane;
  }

  /** Closes the background lane on `subshellId` (before the subshell is deleted). */
  async closeLane(subshellId: string, options: CallOptions = {}): Promise<void> {
    const lane = this.lanes.get(subshellId);
    this.lanes.delete(subshellId);
    const channel = await lane?.catch(() => undefined);
    await channel?.close(options);
  }

  /** Pulls every record the graph lacks. Concurrent calls (on the same lane) share one round trip. */
  sync(options: CallOptions & { subshellId?: string } = {}): Promise<void> {
    const key = options.subshellId ?? '';
    let syncing = this.syncing.get(key);
    if (!syncing) {
      syncing = (async () => {
        try {
          const { result } = await this.request<{ records: unknown[] }>('history', { since: this.graph.lastSeq }, options);
          for (const raw of recordsOf(result)) this.graph.add(normalizeRecord(raw));
        } finally {
          this.syncing.delete(key);
        }
      })();
      this.syncing.set(key, syncing);
    }
    return syncing;
  }

  /** Errors met while handling pushed records (they never escape into the message loop). */
  readonly pushErrors: Error[] = [];

  private onPush(op: string, _data: JsonObject, payload: unknown): void {
    if (op === 'progress') {
      const p = payload as Partial<ShimProgress> | undefined;
      if (typeof p?.done === 'number' && typeof p.total === 'number') this.events.emit('progress', { op: String(p.op), done: p.done, total: p.total });
      return;
    }
    if (op === 'saved_chunks') {
      if (payload !== null && typeof payload === 'object') this.events.emit('savedChunks', payload as SavedChunksEvent);
      return;
    }
    if (op === 'background_load') {
      if (payload !== null && typeof payload === 'object') this.events.emit('backgroundLoad', payload as BackgroundLoadEvent);
      return;
    }
    if (op !== 'records') return;
    try {
      const records = recordsOf(payload).map(normalizeRecord);
      if (records.some((r) => r.seq > this.graph.lastSeq + 1)) {
        // A batch we missed (e.g. pushed before we attached): fetch the lot in order.
        this.sync().catch((error: unknown) => this.pushErrors.push(error as Error));
        return;
      }
      for (const record of records) this.graph.add(record);
    } catch (error) {
      this.pushErrors.push(error as Error);
    }
  }
}

async function connect(
  client: KernelClient,
  bundle: ShimBundle,
  options: CallOptions & { replaceInstalledShim?: boolean; afterRestart?: boolean },
  onPush: (op: string, data: JsonObject, payload: unknown) => void,
): Promise<{ channel: ShimChannel; hello: ShimHello; origin: ShimOrigin; injected: boolean }> {
  const timeoutMs = options.timeoutMs ?? SHIM_TIMEOUTS_MS.quick;
  const call = { ...options, timeoutMs };
  const defaulted = options.timeoutMs === undefined;
  // After a restart the injection must be the first request queued (a user cell sent meanwhile would
  // run unrecorded), so no probe: the template leaves a same-version shim alone, and a different
  // installed one was accepted for replacement when the recorder first attached.
  const present = options.afterRestart ? undefined : await shimStatus(client, internalCode(''), call, defaulted);
  let origin: ShimOrigin;
  let injected = false;
  if (present?.attached && present.version === bundle.version) {
    origin = present.origin ?? 'injected';
  } else if (present?.attached && present.origin === 'installed' && !options.replaceInstalledShim) {
    throw new InstalledShimVersionError(present.version, bundle.version);
  } else {
    const status = await shimStatus(client, internalCode(''), call, defaulted, injectionExpression(bundle));
    if (status?.version !== bundle.version) {
      throw new ShimInjectionError(`expected shim ${bundle.version} in the kernel, found ${status?.version ?? 'none'}`);
    }
    origin = status.origin ?? 'injected';
    // Not after a restart (present unknown): the recorder there is not new to the kernel.
    injected = !options.afterRestart && !present?.attached;
  }
  const comm = await client.openComm(SHIM_COMM_TARGET, {}, [], call);
  const channel = new ShimChannel(comm, onPush);
  const { result: hello } = await channel.request<ShimHello>('hello', { version: bundle.version }, options);
  return { channel, hello, origin, injected };
}

interface ShimStatus {
  version: string;
  attached: boolean;
  origin?: ShimOrigin;
}

/**
 * Runs `code` silently, then `inject` (the injection expression) if given, and returns the shim's
 * status() after them: undefined when there is no shim (KeyError) or not one that speaks JSON status.
 */
async function shimStatus(
  client: KernelClient,
  code: string,
  options: CallOptions & { timeoutMs: number },
  defaulted: boolean,
  inject?: string,
): Promise<ShimStatus | undefined> {
  // User expressions are evaluated in order (a dict in the kernel): the injection, then the status.
  const userExpressions: Record<string, string> = inject === undefined ? { status: SHIM_STATUS_EXPRESSION } : { inject, status: SHIM_STATUS_EXPRESSION };
  const reply = await client.execute(code, { ...options, silent: true, storeHistory: false, userExpressions }).catch((error: unknown) => {
    throw error instanceof RequestTimeoutError ? new ShimTimeoutError('inject', options.timeoutMs, defaulted) : error;
  });
  if (reply.status !== 'ok') throw new ShimInjectionError(`${reply.error?.ename}: ${reply.error?.evalue}`);
  const injected = reply.userExpressions.inject;
  if (injected !== undefined && injected.status !== 'ok') throw new ShimInjectionError(`${injected.ename}: ${injected.evalue}`);
  const status = reply.userExpressions.status;
  if (status?.status !== 'ok') return undefined;
  try {
    const parsed = JSON.parse(String(status.data['text/plain'])) as Partial<ShimStatus>;
    if (typeof parsed.version !== 'string') return undefined;
    return { version: parsed.version, attached: parsed.attached === true, origin: parsed.origin === 'installed' ? 'installed' : 'injected' };
  } catch {
    return undefined; // not a shim we can read: injecting replaces it
  }
}

/** The `records` list of a shim payload (`history` result or pushed batch). */
function recordsOf(payload: unknown): unknown[] {
  const records = typeof payload === 'object' && payload !== null ? (payload as { records?: unknown }).records : undefined;
  if (records === undefined) return [];
  if (!Array.isArray(records)) throw new MalformedRecordError('"records" is not a list');
  return records;
}

/** Evaluated in the kernel after injection (user_expressions): the installed shim's version. */
export const SHIM_VERSION_EXPRESSION = "__import__('sys').modules['nbferry_shim'].VERSION";
/** Evaluated in the kernel before injecting: the shim already there (status() is raw JSON), or a KeyError. */
export const SHIM_STATUS_EXPRESSION = "__import__('sys').modules['nbferry_shim'].status()";
