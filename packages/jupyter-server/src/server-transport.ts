/**
 * KernelTransport over a Jupyter Server kernel websocket, through services' KernelConnection, so
 * KernelClient (and with it Recorder, checkpoint, restore, replay) drives a server's kernel as it
 * drives a local one.
 *
 * - Every received message reaches the client in arrival order (services' `anyMessage`), with its
 *   buffers as Buffers (see wire-serializer.ts).
 * - services handles no comms here (`handleComms: false` on the connection), so it neither closes a
 *   kernel-initiated comm nor claims comm messages: the client does all of that.
 * - Messages that the server would refuse by size are rejected with MessageTooLargeError instead of
 *   being sent: tornado closes the socket on them silently and services would then wait forever.
 */
import { KernelClosedError, type KernelTransport, type MessageHandler, type TransportStats } from '@nbferry/kernel';
import type { Channel, JupyterMessage } from '@nbferry/protocol';
import { MessageTooLargeError } from './errors.js';
import { encodedSize, type WireMessage } from './wire-serializer.js';

/**
 * What the transport uses of services' KernelConnection (which satisfies it), stated here so that
 * nbferry's public types do not import @jupyterlab/services (see WireMessage).
 */
export interface ServicesKernelConnection {
  readonly clientId: string;
  readonly isDisposed: boolean;
  readonly anyMessage: {
    connect(slot: (sender: unknown, args: { msg: WireMessage; direction: 'send' | 'recv' }) => void): unknown;
  };
  sendShellMessage(msg: WireMessage, expectReply?: boolean, disposeOnDone?: boolean): { done: Promise<unknown> };
  sendControlMessage(msg: WireMessage, expectReply?: boolean, disposeOnDone?: boolean): { done: Promise<unknown> };
  sendInputReply(content: object, parentHeader: object): void;
  dispose(): void;
}

/** Tornado's default websocket_max_message_size is 10 MiB; stay clear of it. */
export const DEFAULT_MAX_MESSAGE_BYTES = 10 * 1024 * 1024 - 64 * 1024;

export interface ServerTransportOptions {
  /** Largest client→server message to send (default just under tornado's 10 MiB). */
  maxMessageBytes?: number;
}

export class ServerTransport implements KernelTransport {
  readonly stats: TransportStats = { received: 0, badSignature: 0, malformed: 0 };
  readonly maxMessageBytes: number;
  /** The largest message sent so far, in bytes on the websocket. */
  largestSent = 0;
  private handler: MessageHandler = () => {};
  private closed = false;

  constructor(
    readonly connection: ServicesKernelConnection,
    options: ServerTransportOptions = {},
  ) {
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    connection.anyMessage.connect((_sender, { msg, direction }) => {
      if (direction === 'recv') this.receive(msg);
    });
  }

  /** services' client id: the session of every message sent on this connection. */
  get sessionId(): string {
    return this.connection.clientId;
  }

  setHandler(handler: MessageHandler): void {
    this.handler = handler;
  }

  async send(channel: Exclude<Channel, 'iopub'>, msg: JupyterMessage<unknown>): Promise<void> {
    const type = msg.header.msg_type;
    if (this.closed || this.connection.isDisposed) throw new KernelClosedError(type);
    const wire = {
      channel,
      header: msg.header,
      parent_header: msg.parent_header,
      metadata: msg.metadata,
      content: msg.content,
      buffers: msg.buffers,
    } as WireMessage;
    const bytes = encodedSize(wire);
    if (bytes > this.maxMessageBytes) throw new MessageTooLargeError(type, bytes, this.maxMessageBytes);
    this.largestSent = Math.max(this.largestSent, bytes);
    if (channel === 'stdin') {
      this.connection.sendInputReply(msg.content as object, msg.parent_header);
      return;
    }
    // services tracks each request in a future it disposes when done: ask for a reply only where one
    // comes (requests), or the future would wait for ever. KernelClient does its own tracking.
    const expectReply = type.endsWith('_request');
    const future =
      channel === 'shell'
        ? this.connection.sendShellMessage(wire, expectReply, true)
        : this.connection.sendControlMessage(wire, expectReply, true);
    // Rejects only when services disposes the future (restart, close): KernelClient reports that.
    future.done.catch(() => {});
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.connection.dispose();
  }

  private receive(msg: WireMessage): void {
    this.stats.received += 1;
    const channel = msg.channel as Channel;
    if (channel !== 'iopub' && channel !== 'shell' && channel !== 'control' && channel !== 'stdin') {
      this.stats.malformed += 1;
      return;
    }
    this.handler(channel, {
      header: msg.header,
      parent_header: msg.parent_header,
      metadata: msg.metadata,
      content: msg.content,
      buffers: (msg.buffers ?? []).map(toBytes),
    } as unknown as JupyterMessage);
  }
}

function toBytes(buffer: ArrayBuffer | ArrayBufferView): Uint8Array {
  if (Buffer.isBuffer(buffer)) return buffer;
  return ArrayBuffer.isView(buffer) ? Buffer.from(buffer.buffer, buffer.byteOffset, buffer.byteLength) : Buffer.from(buffer);
}
