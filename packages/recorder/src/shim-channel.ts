/**
 * Request/reply over the shim's comm. A request is `data: {op, id}` with msgpack args in
 * buffers[0] (further buffers carry bulk bytes); the shim answers each with exactly one
 * `{op: 'reply', id, ok, error?}` whose buffers[0] is the msgpack result. Anything else the shim
 * sends unprompted (batched cell records) is delivered to `onPush`.
 */
import { cancellable, type CallOptions, type Comm, type CommMessage } from '@nbferry/kernel';
import { packMsgpack, unpackMsgpack, type JsonObject } from '@nbferry/protocol';
import { ShimRequestError, ShimUnavailableError } from './errors.js';

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
  ) {
    comm.events.on('message', (message) => this.receive(message));
    comm.events.on('close', () => this.failAll(new ShimUnavailableError('its comm was closed (kernel restarted or shut down?)')));
  }

  get isOpen(): boolean {
    return !this.comm.isClosed;
  }

  async request<T>(op: string, args: object = {}, options: CallOptions & { buffers?: Uint8Array[] } = {}): Promise<ShimReply<T>> {
    if (this.comm.isClosed) throw new ShimUnavailableError('its comm is closed');
    const id = this.nextId++;
    const reply = new Promise<ShimReply<unknown>>((resolve, reject) => this.waiting.set(id, { op, resolve, reject }));
    reply.catch(() => {}); // handled below; this only stops an early rejection from counting as unhandled
    try {
      // The kernel goes idle only after handling the message, so the reply (sent while handling)
      // has normally arrived when send() resolves; the promise covers replies sent later.
      await this.comm.send({ op, id }, [packMsgpack(args), ...(options.buffers ?? [])], options);
    } catch (error) {
      this.waiting.delete(id);
      throw error;
    }
    return cancellable<ShimReply<T>>(
      options,
      (ms) => new ShimRequestError(op, `no reply within ${ms} ms`),
      () => new ShimRequestError(op, 'aborted by the caller'),
      (resolve, reject) => {
        (reply as Promise<ShimReply<T>>).then(resolve, reject);
        return () => this.waiting.delete(id);
      },
    );
  }

  private receive(message: CommMessage): void {
    const data = message.data as { op?: string; id?: number; ok?: boolean; error?: string };
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
      else this.settle(data.id, new ShimRequestError(waiting.op, data.error ?? 'unknown error'));
      return;
    }
    this.onPush(data.op ?? '', message.data, payload, rest);
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
