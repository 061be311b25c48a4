/**
 * KernelClient: one API to drive a kernel over any KernelTransport.
 *
 * A request is done when its reply *and* its `status: idle` (same parent) have arrived, so all
 * outputs are in. Every call takes an AbortSignal and a timeout. When the kernel dies, every
 * pending request rejects with KernelDiedError; after close, with KernelClosedError.
 */
import { randomUUID } from 'node:crypto';
import {
  createMessage,
  parentMsgId,
  type Channel,
  type CommOpenContent,
  type ErrorContent,
  type ExecuteReplyContent,
  type ExecuteRequestContent,
  type ExecutionState,
  type JsonObject,
  type JupyterMessage,
  type KernelInfoReplyContent,
  type UserExpressionResult,
} from '@nbferry/protocol';
import { cancellable, delay, type CallOptions } from './abort.js';
import { Comm, type CommMessage, type CommSender, type CommSendOptions } from './comm.js';
import { Emitter } from './emitter.js';
import {
  KernelClosedError,
  KernelDiedError,
  KernelError,
  KernelKeyMismatchError,
  KernelRestartedError,
  KernelUnresponsiveError,
  RequestAbortedError,
  RequestTimeoutError,
} from './errors.js';
import type { KernelProcess } from './kernel-process.js';
import { appendOutput, streamText, toOutput, type Output } from './outputs.js';
import type { KernelTransport } from './transport.js';

export interface RequestOptions extends CallOptions {
  buffers?: Uint8Array[];
  metadata?: JsonObject;
  /** Wait for a reply on the same channel (false for comm_msg, which has none). Default true. */
  expectReply?: boolean;
  /** Wait for `status: idle` with this parent. Default: true on shell, false on control. */
  waitForIdle?: boolean;
  subshellId?: string;
  /** Every iopub message whose parent is this request, in order. */
  onIopub?: (msg: JupyterMessage) => void;
  /**
   * Liveness watch while the request is pending: the kernel's control channel is asked for
   * kernel_info every few seconds; no answer within this many ms fails the request with
   * KernelUnresponsiveError. ipykernel answers control on its own thread even during a long
   * cell, so silence means its messaging is wedged (user code that rebound `len` or
   * `isinstance`), or C code held the GIL that long. Off by default.
   */
  unresponsiveMs?: number;
}

export interface ExecuteOptions extends CallOptions {
  silent?: boolean;
  storeHistory?: boolean;
  userExpressions?: Record<string, string>;
  allowStdin?: boolean;
  stopOnError?: boolean;
  /** Sent as metadata.cellId; IPython passes it to pre_run_cell as `cell_id`. */
  cellId?: string;
  metadata?: JsonObject;
  subshellId?: string;
  /** Called for each output as it arrives (progress), besides collecting them. */
  onOutput?: (output: Output) => void;
  /** See RequestOptions.unresponsiveMs: a liveness watch, not a bound on the cell's duration. */
  unresponsiveMs?: number;
}

export interface ExecuteResult {
  status: 'ok' | 'error' | 'aborted';
  executionCount: number | null;
  outputs: Output[];
  /** Set when status is 'error'. */
  error?: ErrorContent;
  userExpressions: Record<string, UserExpressionResult>;
  stdout: string;
  stderr: string;
  msgId: string;
}

export interface InputRequest {
  prompt: string;
  password: boolean;
  parentMsgId: string | undefined;
  reply(value: string): Promise<void>;
}

export interface KernelClientEvents extends Record<string, unknown> {
  /** Every iopub message, whoever caused it (a notebook frontend's executions too). */
  iopub: JupyterMessage;
  status: ExecutionState;
  inputRequest: InputRequest;
  /** A comm the kernel opened whose target has no registered handler. */
  commOpen: { comm: Comm; data: JsonObject; buffers: Uint8Array[] };
  dead: KernelDiedError;
  restarted: void;
  /** This client interrupted the kernel (emitted once the interrupt was sent). */
  interrupt: void;
}

/** What only a kernel we launched can do: signal, restart, and wait for its process. */
export interface KernelOwner {
  readonly process: KernelProcess;
  readonly interruptMode: 'signal' | 'message';
  /** Replaces the exited process with a new one on the same connection file; watches it again. */
  respawn(): Promise<KernelProcess>;
  /** Until respawn, the process exiting is intended (restart, shutdown), not a death. */
  pauseMonitoring(): void;
  /** Resumes the heartbeat once the new process is ready. */
  resumeMonitoring(): void;
}

interface PendingRequest {
  msgType: string;
  needsReply: boolean;
  needsIdle: boolean;
  reply?: JupyterMessage;
  idle: boolean;
  onIopub?: (msg: JupyterMessage) => void;
  resolve(reply: JupyterMessage | undefined): void;
  reject(error: Error): void;
}

type CommTargetHandler = (comm: Comm, data: JsonObject, buffers: Uint8Array[]) => void;

export class KernelClient implements CommSender {
  readonly events = new Emitter<KernelClientEvents>();
  private readonly pending = new Map<string, PendingRequest>();
  private readonly comms = new Map<string, Comm>();
  private readonly commTargets = new Map<string, CommTargetHandler>();
  private state: ExecutionState | 'unknown' = 'unknown';
  private failure: Error | undefined;
  private iopubWelcomed = false;
  private readonly readinessProbes = new Set<string>();
  private readinessIopubSeen = false;

  constructor(
    readonly transport: KernelTransport,
    private owner?: KernelOwner,
  ) {
    transport.setHandler((channel, msg) => this.dispatch(channel, msg));
  }

  get sessionId(): string {
    return this.transport.sessionId;
  }

  /** Last execution state the kernel published, or 'dead'. */
  get status(): ExecutionState | 'unknown' {
    return this.state;
  }

  get isAlive(): boolean {
    return this.failure === undefined;
  }

  /** The launched process, when this client owns the kernel. */
  get process(): KernelProcess | undefined {
    return this.owner?.process;
  }

  // ---- requests -------------------------------------------------------------------------------

  /** Sends any request and resolves with its reply (or undefined when no reply is expected). */
  request(
    channel: Exclude<Channel, 'iopub'>,
    msgType: string,
    content: object,
    options: RequestOptions = {},
  ): Promise<JupyterMessage | undefined> {
    if (this.failure) return Promise.reject(this.failure);
    const msg = createMessage(msgType, content, {
      session: this.sessionId,
      buffers: options.buffers,
      metadata: options.metadata,
      subshellId: options.subshellId,
    });
    const id = msg.header.msg_id;
    const stopWatch = options.unresponsiveMs !== undefined && channel !== 'control' ? this.watchLiveness(id, msgType, options.unresponsiveMs) : undefined;
    const pending = cancellable<JupyterMessage | undefined>(
      options,
      (ms) => new RequestTimeoutError(msgType, ms),
      (reason) => new RequestAbortedError(msgType, reason),
      (resolve, reject) => {
        this.pending.set(id, {
          msgType,
          needsReply: options.expectReply ?? true,
          needsIdle: options.waitForIdle ?? channel === 'shell',
          idle: false,
          onIopub: options.onIopub,
          resolve,
          reject,
        });
        this.transport.send(channel, msg).catch((error: unknown) => {
          this.pending.delete(id);
          reject(new KernelError(`cannot send ${msgType}: ${(error as Error).message}`, 'SEND_FAILED', { cause: error }));
        });
        return () => this.pending.delete(id);
      },
    );
    return stopWatch ? pending.finally(stopWatch) : pending;
  }

  /** Fails request `id` with KernelUnresponsiveError once control stays silent for `unresponsiveMs`. */
  private watchLiveness(id: string, msgType: string, unresponsiveMs: number): () => void {
    let stopped = false;
    const stop = new AbortController(); // ends the wait between probes at once (no timer left keeping the process up)
    const probeEveryMs = Math.max(200, Math.min(5000, unresponsiveMs / 2));
    const watch = async () => {
      while (!stopped) {
        if (!(await delay(probeEveryMs, stop.signal).then(() => true, () => false))) return;
        if (stopped || !this.pending.has(id)) return;
        try {
          await this.request('control', 'kernel_info_request', {}, { timeoutMs: unresponsiveMs, waitForIdle: false });
        } catch (error) {
          const pending = this.pending.get(id);
          if (stopped || !pending || !(error instanceof RequestTimeoutError)) return; // died or closed: reported elsewhere
          this.pending.delete(id);
          pending.reject(new KernelUnresponsiveError(msgType, unresponsiveMs));
          return;
        }
      }
    };
    void watch();
    return () => {
      stopped = true;
      stop.abort();
    };
  }

  async kernelInfo(options: CallOptions = {}): Promise<KernelInfoReplyContent> {
    const reply = await this.request('shell', 'kernel_info_request', {}, { waitForIdle: false, ...options });
    return reply!.content as unknown as KernelInfoReplyContent;
  }

  async execute(code: string, options: ExecuteOptions = {}): Promise<ExecuteResult> {
    const content: ExecuteRequestContent = {
      code,
      silent: options.silent ?? false,
      store_history: options.storeHistory ?? !(options.silent ?? false),
      user_expressions: options.userExpressions ?? {},
      allow_stdin: options.allowStdin ?? false,
      stop_on_error: options.stopOnError ?? true,
    };
    const metadata: JsonObject = { ...options.metadata };
    if (options.cellId !== undefined) metadata.cellId = options.cellId;
    const outputs: Output[] = [];
    let msgId = '';
    const reply = await this.request('shell', 'execute_request', content, {
      ...options,
      metadata,
      onIopub: (msg) => {
        msgId = parentMsgId(msg) ?? msgId;
        const output = toOutput(msg);
        if (!output) return;
        appendOutput(outputs, output);
        options.onOutput?.(output);
      },
    });
    const replyContent = reply!.content as unknown as ExecuteReplyContent;
    msgId = parentMsgId(reply!) ?? msgId;
    const result: ExecuteResult = {
      status: replyContent.status,
      executionCount: replyContent.execution_count ?? null,
      outputs,
      userExpressions: replyContent.status === 'ok' ? (replyContent.user_expressions ?? {}) : {},
      stdout: streamText(outputs, 'stdout'),
      stderr: streamText(outputs, 'stderr'),
      msgId,
    };
    if (replyContent.status === 'error') {
      result.error = { ename: replyContent.ename, evalue: replyContent.evalue, traceback: replyContent.traceback };
    }
    return result;
  }

  // ---- comms ----------------------------------------------------------------------------------

  /**
   * Opens a comm to `targetName` in the kernel; resolves once the kernel handled the open. With
   * `subshellId`, that subshell handles the open (and, in ipykernel 7.4, the comm's messages).
   */
  async openComm(
    targetName: string,
    data: JsonObject = {},
    buffers: Uint8Array[] = [],
    options: CallOptions & { subshellId?: string } = {},
  ): Promise<Comm> {
    const comm = new Comm(randomUUID(), targetName, this);
    this.comms.set(comm.id, comm);
    const content: CommOpenContent = { comm_id: comm.id, target_name: targetName, data };
    try {
      await this.request('shell', 'comm_open', content, { ...options, buffers, expectReply: false, waitForIdle: true });
    } catch (error) {
      this.comms.delete(comm.id);
      throw error;
    }
    return comm;
  }

  /** Handles comms the kernel opens to `targetName`. Register before the kernel opens them. */
  registerCommTarget(targetName: string, handler: CommTargetHandler): () => void {
    this.commTargets.set(targetName, handler);
    return () => this.commTargets.delete(targetName);
  }

  async sendCommMessage(
    commId: string,
    msgType: 'comm_msg' | 'comm_close',
    data: JsonObject,
    buffers: Uint8Array[],
    options: CommSendOptions,
  ): Promise<void> {
    await this.request('shell', msgType, { comm_id: commId, data }, { ...options, buffers, expectReply: false, waitForIdle: true });
  }

  forgetComm(commId: string): void {
    this.comms.delete(commId);
  }

  // ---- lifecycle ------------------------------------------------------------------------------

  /**
   * Waits until shell answers and iopub is connected: `iopub_welcome` (ipykernel >= 7) or, for
   * older kernels, an iopub message caused by one of our kernel_info probes. Probes repeat every
   * 500 ms because a request sent before the sockets connect may be lost.
   */
  async waitReady(options: CallOptions = {}): Promise<KernelInfoReplyContent> {
    const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
    let info: KernelInfoReplyContent | undefined;
    while (true) {
      if (options.signal?.aborted) throw new RequestAbortedError('kernel_info_request', options.signal.reason);
      if (this.failure) throw this.failure;
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new RequestTimeoutError('kernel_info_request (readiness)', options.timeoutMs ?? 0);
      const probe = createMessage('kernel_info_request', {}, { session: this.sessionId });
      this.readinessProbes.add(probe.header.msg_id);
      const attempt = cancellable<JupyterMessage | undefined>(
        { signal: options.signal, timeoutMs: Math.min(500, remaining) },
        (ms) => new RequestTimeoutError('kernel_info_request', ms),
        (reason) => new RequestAbortedError('kernel_info_request', reason),
        (resolve, reject) => {
          const id = probe.header.msg_id;
          this.pending.set(id, { msgType: 'kernel_info_request', needsReply: true, needsIdle: false, idle: false, resolve, reject });
          this.transport.send('shell', probe).catch(reject);
          return () => this.pending.delete(id);
        },
      );
      try {
        const reply = await attempt;
        info = reply!.content as unknown as KernelInfoReplyContent;
      } catch (error) {
        if (!(error instanceof RequestTimeoutError)) throw error;
      }
      this.refuseForgedReadiness();
      if (info && (this.iopubWelcomed || this.readinessIopubSeen)) {
        this.readinessProbes.clear();
        return info;
      }
      if (info) await delay(20, options.signal);
    }
  }

  /**
   * While waiting for readiness: messages arrived, and every one failed its signature. The kernel
   * is alive but signs with another key; waiting longer cannot help.
   */
  private refuseForgedReadiness(): void {
    const { received, badSignature } = this.transport.stats;
    if (badSignature > 0 && badSignature === received) {
      throw new KernelKeyMismatchError(this.transport.describe?.() ?? 'this connection', badSignature);
    }
  }

  /**
   * Interrupts the running cell: `interrupt_request` on control (handled on its own thread by
   * ipykernel 7), SIGINT when the kernel is ours and wants signals or the message went unanswered.
   */
  async interrupt(options: CallOptions = {}): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.owner?.interruptMode === 'signal') {
      this.owner.process.signal('SIGINT');
      this.events.emit('interrupt', undefined);
      return;
    }
    try {
      await this.request('control', 'interrupt_request', {}, { timeoutMs: 2000, ...options });
    } catch (error) {
      if (!(error instanceof RequestTimeoutError) || !this.owner) throw error;
      this.owner.process.signal('SIGINT');
    }
    this.events.emit('interrupt', undefined);
  }

  // ---- subshells (JEP 91, ipykernel >= 7) -----------------------------------------------------

  /** Whether the kernel runs shell requests on subshells beside its main shell (asked on control). */
  async supportsSubshells(options: CallOptions = {}): Promise<boolean> {
    const reply = await this.request('control', 'kernel_info_request', {}, { waitForIdle: false, ...options });
    const features = (reply!.content as { supported_features?: unknown }).supported_features;
    return Array.isArray(features) && features.includes('kernel subshells');
  }

  /** A new subshell: a thread in the kernel that handles the shell requests sent with its id. */
  async createSubshell(options: CallOptions = {}): Promise<string> {
    const reply = await this.request('control', 'create_subshell_request', {}, { waitForIdle: false, ...options });
    const content = reply!.content as { status?: string; subshell_id?: unknown; evalue?: string };
    if (content.status !== 'ok' || typeof content.subshell_id !== 'string') {
      throw new KernelError(`the kernel could not create a subshell: ${content.evalue ?? content.status ?? 'no id in its reply'}`, 'SUBSHELL_FAILED');
    }
    return content.subshell_id;
  }

  async deleteSubshell(subshellId: string, options: CallOptions = {}): Promise<void> {
    await this.request('control', 'delete_subshell_request', { subshell_id: subshellId }, { waitForIdle: false, ...options });
  }

  /** Restarts a kernel this client launched: same connection, empty namespace. */
  async restart(options: CallOptions = {}): Promise<KernelInfoReplyContent> {
    if (this.failure) throw this.failure;
    const owner = this.owner;
    if (!owner) {
      throw new KernelError('restart needs a kernel launched by nbferry; ask the kernel manager that owns this kernel', 'NOT_OWNER');
    }
    owner.pauseMonitoring();
    await this.request('control', 'shutdown_request', { restart: true }, { timeoutMs: 3000, ...options }).catch(() => {});
    if (!(await owner.process.waitForExit(5000))) await owner.process.kill(1000);
    this.rejectAll((p) => new KernelRestartedError(p.msgType));
    for (const comm of [...this.comms.values()]) comm.markClosed();
    this.iopubWelcomed = false;
    this.readinessIopubSeen = false;
    await owner.respawn();
    const info = await this.waitReady({ timeoutMs: 60_000, ...options });
    owner.resumeMonitoring();
    this.events.emit('restarted', undefined);
    return info;
  }

  /**
   * Shuts the kernel down and closes the connection. A kernel we own is waited for and killed if
   * it lingers, so no process is left behind. Idempotent.
   */
  async shutdown(options: CallOptions = {}): Promise<void> {
    if (this.isAlive) {
      this.owner?.pauseMonitoring();
      await this.request('control', 'shutdown_request', { restart: false }, { timeoutMs: 3000, ...options }).catch(() => {});
    }
    const process = this.owner?.process;
    if (process && !(await process.waitForExit(5000))) await process.kill(1000);
    await this.close();
  }

  /** Closes the connection without stopping the kernel (detach). Pending requests reject. */
  async close(): Promise<void> {
    this.fail(new KernelClosedError('request'));
    await this.transport.close();
  }

  /** Marks the kernel unusable: every pending and future request rejects with `error`. */
  fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    this.state = 'dead';
    this.rejectAll(() => error);
    for (const comm of [...this.comms.values()]) comm.markClosed();
    if (error instanceof KernelDiedError) this.events.emit('dead', error);
  }

  private rejectAll(makeError: (pending: PendingRequest) => Error): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const pending of all) pending.reject(makeError(pending));
  }

  // ---- dispatch -------------------------------------------------------------------------------

  private dispatch(channel: Channel, msg: JupyterMessage): void {
    const parentId = parentMsgId(msg);
    if (channel === 'iopub') {
      this.dispatchIopub(msg, parentId);
      return;
    }
    if (channel === 'stdin') {
      if (msg.header.msg_type === 'input_request') this.emitInputRequest(msg, parentId);
      return;
    }
    const pending = parentId === undefined ? undefined : this.pending.get(parentId);
    if (!pending) return;
    pending.reply = msg;
    this.settleIfDone(parentId!, pending);
  }

  private dispatchIopub(msg: JupyterMessage, parentId: string | undefined): void {
    const type = msg.header.msg_type;
    if (type === 'iopub_welcome') this.iopubWelcomed = true;
    if (parentId !== undefined && this.readinessProbes.has(parentId)) this.readinessIopubSeen = true;
    const fromSubshell = typeof (msg.parent_header as { subshell_id?: unknown } | undefined)?.subshell_id === 'string';
    if (type === 'status' && !fromSubshell) {
      // The main shell's state: a subshell busy beside an idle main shell does not make the kernel busy.
      this.state = (msg.content as { execution_state: ExecutionState }).execution_state;
      this.events.emit('status', this.state);
    } else if (type === 'comm_msg' || type === 'comm_close' || type === 'comm_open') {
      this.dispatchComm(msg, parentId);
    }
    this.events.emit('iopub', msg);
    const pending = parentId === undefined ? undefined : this.pending.get(parentId);
    if (!pending) return;
    try {
      pending.onIopub?.(msg);
    } catch (error) {
      // A callback (or an output it could not read) must not stop the receive loop: fail this request only.
      this.pending.delete(parentId!);
      pending.reject(
        new KernelError(`handling a ${type} message of ${pending.msgType} failed: ${(error as Error).message}`, 'IOPUB_HANDLER_FAILED', { cause: error }),
      );
      return;
    }
    if (type === 'status' && (msg.content as { execution_state?: string }).execution_state === 'idle') {
      pending.idle = true;
      this.settleIfDone(parentId!, pending);
    }
  }

  private dispatchComm(msg: JupyterMessage, parentId: string | undefined): void {
    const content = msg.content as { comm_id: string; data?: JsonObject; target_name?: string };
    const data = content.data ?? {};
    if (msg.header.msg_type === 'comm_open') {
      const comm = new Comm(content.comm_id, content.target_name ?? '', this);
      this.comms.set(comm.id, comm);
      const handler = this.commTargets.get(comm.targetName);
      if (handler) {
        try {
          handler(comm, data, msg.buffers);
        } catch {
          void comm.close().catch(() => {}); // a target that cannot take the comm: refuse it, keep dispatching
        }
      }
      else if (this.events.listenerCount('commOpen') > 0) this.events.emit('commOpen', { comm, data, buffers: msg.buffers });
      else void comm.close().catch(() => {});
      return;
    }
    const comm = this.comms.get(content.comm_id);
    if (!comm) return;
    if (msg.header.msg_type === 'comm_close') comm.markClosed(data);
    else comm.events.emit('message', { data, buffers: msg.buffers, parentMsgId: parentId } satisfies CommMessage);
  }

  private emitInputRequest(msg: JupyterMessage, parentId: string | undefined): void {
    const content = msg.content as { prompt?: string; password?: boolean };
    const reply = async (value: string) => {
      const answer = createMessage('input_reply', { value }, { session: this.sessionId, parent: msg.header });
      await this.transport.send('stdin', answer);
    };
    if (this.events.listenerCount('inputRequest') === 0) {
      // Nobody can answer: reply empty rather than leave the kernel blocked forever.
      void reply('').catch(() => {});
      return;
    }
    this.events.emit('inputRequest', { prompt: content.prompt ?? '', password: Boolean(content.password), parentMsgId: parentId, reply });
  }

  private settleIfDone(id: string, pending: PendingRequest): void {
    if ((pending.needsReply && !pending.reply) || (pending.needsIdle && !pending.idle)) return;
    this.pending.delete(id);
    this.readinessProbes.delete(id);
    pending.resolve(pending.reply);
  }
}
