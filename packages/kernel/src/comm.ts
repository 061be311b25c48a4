/** A Jupyter comm: a bidirectional channel to an object in the kernel, with binary buffers both ways. */
import type { JsonObject } from '@nbferry/protocol';
import type { CallOptions } from './abort.js';
import { Emitter } from './emitter.js';
import { KernelError } from './errors.js';

export interface CommMessage {
  data: JsonObject;
  buffers: Uint8Array[];
  /** msg_id of the request that caused it (e.g. our comm_msg, or a user's execute_request). */
  parentMsgId: string | undefined;
}

/**
 * `unresponsiveMs`: see RequestOptions (a liveness watch while the kernel handles the message).
 * `subshellId`: have a kernel subshell handle it (JEP 91) instead of the main shell.
 */
export type CommSendOptions = CallOptions & { unresponsiveMs?: number; subshellId?: string };

export interface CommSender {
  sendCommMessage(commId: string, msgType: 'comm_msg' | 'comm_close', data: JsonObject, buffers: Uint8Array[], options: CommSendOptions): Promise<void>;
  forgetComm(commId: string): void;
}

export class Comm {
  readonly events = new Emitter<{ message: CommMessage; close: { data: JsonObject } }>();
  private closed = false;

  constructor(
    readonly id: string,
    readonly targetName: string,
    private readonly sender: CommSender,
  ) {}

  get isClosed(): boolean {
    return this.closed;
  }

  /** Sends a message; resolves once the kernel has handled it (went idle on it). */
  async send(data: JsonObject, buffers: Uint8Array[] = [], options: CommSendOptions = {}): Promise<void> {
    if (this.closed) throw new KernelError(`comm ${this.targetName}/${this.id} is closed (the kernel or the other side closed it)`, 'COMM_CLOSED');
    await this.sender.sendCommMessage(this.id, 'comm_msg', data, buffers, options);
  }

  async close(data: JsonObject = {}, options: CallOptions = {}): Promise<void> {
    if (this.closed) return;
    this.markClosed(data);
    await this.sender.sendCommMessage(this.id, 'comm_close', data, [], options);
  }

  /** Called by the client when the kernel closed the comm or the kernel went away. */
  markClosed(data: JsonObject = {}): void {
    if (this.closed) return;
    this.closed = true;
    this.sender.forgetComm(this.id);
    this.events.emit('close', { data });
  }
}
