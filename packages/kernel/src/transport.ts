/**
 * What KernelClient needs from a connection to a kernel: send on a channel, receive decoded
 * messages. ZeroMQ implements it here; a Jupyter Server websocket can implement it too.
 */
import type { Channel, JupyterMessage } from '@nbferry/protocol';

export type MessageHandler = (channel: Channel, msg: JupyterMessage) => void;

export interface TransportStats {
  received: number;
  /** Dropped because the HMAC signature was missing or wrong. */
  badSignature: number;
  /** Dropped because the frames could not be decoded. */
  malformed: number;
}

export interface KernelTransport {
  readonly sessionId: string;
  readonly stats: TransportStats;
  /** Set once by the client; messages are delivered in arrival order per channel. */
  setHandler(handler: MessageHandler): void;
  send(channel: Exclude<Channel, 'iopub'>, msg: JupyterMessage<unknown>): Promise<void>;
  close(): Promise<void>;
  /** Where this transport connects, for error messages (never the key). */
  describe?(): string;
}
