/**
 * Request/reply over the shim's comm. A request is `data: {op, id}` with msgpack args in
 * buffers[0] (further buffers carry bulk bytes); the shim answers each with exactly one
 * `{op: 'reply', id, ok, error?}` whose buffers[0] is the msgpack result. Anything else the shim
 * sends unprompted (batched cell records) is delivered to `onPush`.
 */
import { cancellable, type CallOptions, type Comm, type CommMessage } from '@nbferry/kernel';
import { packMsgpack, unpackMsgpack, type JsonObject } from '@nbferry/protocol';
import { ShimNoReplyError, ShimRequestError, ShimTimeoutError, ShimUnavailableError } from './errors.js';
import { defaultShimTimeoutMs, REPLY_GRACE_MS, SHIM_UNRESPONSIVE_MS } from './shim-timeouts.js';

export interface ShimReply<T> {
  result: T;
  /** Bulk buffers after the msgpack result (e.g. serialized blobs). */
  buffers: Uint8Array[];
}

interface Waiting {
  op: string;
  resolve(reply: ShimReply<unknown>): void;
  reject(error: Error): void;
}

export class ShimChannel {
  private nextId = 1;
  private readonly waiting = new Map<number, Waiting>();

  constructor(
    private readonly comm: Comm,
    private readonly onPush: (op: string, data: JsonObject, payload: unknown, buffers: Uint8Array[]) => void,
    /** The kernel subshell this channel's comm was opened on (a background lane): its requests go there. */
    private readonly subshellId?: string,
  ) {
    comm.events.on('message', (message) => this.receive(message));
    comm.events.on('close', () => this.failAll(new ShimUnavailableError('its comm was closed (kernel restarted or shut down?)')));
  }

  get isOpen(): boolean {
    return !this.comm.isClosed;
  }

  /** Closes the comm; requests still waiting fail with ShimUnavailableError. */
  async close(options: CallOptions = {}): Promise<void> {
    await this.comm.close({}, options);
  }

  /**
   * One request, bounded: `timeoutMs` (default per op, see shim-timeouts.ts) covers sending, the
   * kernel's handling and the reply. A kernel that handled the request without replying (the shim
   * could not send it) fails fast with ShimNoReplyError instead of waiting out the timeout.
   */
  async request<T>(op: string, args: object = {}, options: CallOptions & { buffers?: Uint8Array[] } = {}): Promise<ShimReply<T>> {
    if (this.comm.isClosed) throw new ShimUnavailableError('its comm is closed');
    const id = this.nextId++;
    const timeoutMs = options.timeoutMs ?? defaultShimTimeoutMs(op);
    const reply = new Promise<ShimReply<unknown>>((resolve, reject) => this.waiting.set(id, { op, resolve, reject }));
    reply.catch(() => {}); // handled below; this only stops an early rejection from counting as unhandled
    // The send's own deadline is the request's: stopping it when the request settles.
    const sendAbort = new AbortController();
    const sendSignal = options.signal ? AbortSignal.any([options.signal, sendAbort.signal]) : sendAbort.signal;
    return cancellable<ShimReply<T>>(
      { signal: options.signal, timeoutMs },
      (ms) => new ShimTimeoutError(op, ms, options.timeoutMs === undefined),
      () => new ShimRequestError(op, 'aborted by the caller'),
      (resolve, reject) => {
        (reply as Promise<ShimReply<T>>).then(resolve, reject);
        let grace: NodeJS.Timeout | undefined;
        this.comm
          .send({ op, id }, [packMsgpack(args), ...(options.buffers ?? [])], { signal: sendSignal, unresponsiveMs: SHIM_UNRESPONSIVE_MS, subshellId: this.subshellId })
          .then(
            () => {
              // Handled (idle): the reply is here or in flight; if it is not, the shim never sent it.
              grace = setTimeout(() => this.settle(id, new ShimNoReplyError(op)), REPLY_GRACE_MS);
              grace.unref();
            },
            (error: unknown) => {
              if (!sendAbort.signal.aborted) this.settle(id, error as Error);
            },
          );
        return () => {
          if (grace) clearTimeout(grace);
          sendAbort.abort();
          this.waiting.delete(id);
        };
      },
    ).finally(() => sendAbort.abort());
  }

  private receive(message: CommMessage): void {
    // Decoded JSON from the wire: any field may have any type.
    const data = message.data as { op?: unknown; id?: unknown; ok?: unknown; error?: unknown };
    const [head, ...rest] = message.buffers;
    let payload: unknown;
    try {
      payload = head ? unpackMsgpack(head) : undefined;
    } catch (error) {
      payload = undefined;
      if (data.op === 'reply' && typeof data.id === 'number') {
        this.settle(data.id, new ShimRequestError(this.waiting.get(data.id)?.op ?? '?', (error as Error).message));
      }
      return;
    }
    if (data.op === 'reply' && typeof data.id === 'number') {
      const waiting = this.waiting.get(data.id);
      if (!waiting) return;
      if (data.ok) this.settle(data.id, { result: payload, buffers: rest });
      else this.settle(data.id, new ShimRequestError(waiting.op, typeof data.error === 'string' ? data.error : 'unknown error'));
      return;
    }
    this.onPush(typeof data.op === 'string' ? data.op : '', message.data, payload, rest);
  }

  private settle(id: number, outcome: ShimReply<unknown> | Error): void {
    const waiting = this.waiting.get(id);
    if (!waiting) return;
    this.waiting.delete(id);
    if (outcome instanceof Error) waiting.reject(outcome);
    else waiting.resolve(outcome);
  }

  private failAll(error: Error): void {
    for (const [id, waiting] of this.waiting) {
      this.waiting.delete(id);
      waiting.reject(error);
    }
  }
}
