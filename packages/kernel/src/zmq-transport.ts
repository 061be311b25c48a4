/**
 * ZeroMQ transport: DEALER sockets for shell, control and stdin (one routing id, the session, so
 * the kernel can route input_request), SUB for iopub. One receive loop per socket (zeromq.js allows
 * one pending receive), receive high-water mark 0 (a dropped `status: idle` would hang a request),
 * linger 0 (close never blocks exit).
 */
import { randomUUID } from 'node:crypto';
import { Context, Dealer, Subscriber } from 'zeromq';
import { ProtocolError, WireCodec, type Channel, type JupyterMessage } from '@nbferry/protocol';
import { endpoint, type ConnectionInfo } from './connection.js';
import type { KernelTransport, MessageHandler, TransportStats } from './transport.js';

type Socket = Dealer | Subscriber;

export class ZmqTransport implements KernelTransport {
  readonly sessionId = randomUUID();
  readonly stats: TransportStats = { received: 0, badSignature: 0, malformed: 0 };
  private readonly codec: WireCodec;
  private readonly context = new Context({ blocky: false });
  private readonly sockets: Record<Channel, Socket>;
  private handler: MessageHandler = () => {};
  private closed = false;
  private readonly loops: Promise<void>[];
  /** zeromq.js allows one pending send per socket ("Socket is busy writing"): sends queue here. */
  private readonly sending = new Map<Channel, Promise<void>>();

  constructor(readonly info: ConnectionInfo) {
    this.codec = new WireCodec(info.key, info.signature_scheme);
    const common = {
      context: this.context,
      receiveHighWaterMark: 0,
      linger: 0,
      maxMessageSize: -1,
      ...curveOptions(info),
    };
    const dealer = () => new Dealer({ ...common, routingId: this.sessionId });
    const iopub = new Subscriber(common);
    iopub.subscribe();
    this.sockets = { shell: dealer(), control: dealer(), stdin: dealer(), iopub };
    for (const [channel, socket] of Object.entries(this.sockets)) socket.connect(endpoint(info, channel as Channel));
    this.loops = Object.entries(this.sockets).map(([channel, socket]) => this.receiveLoop(channel as Channel, socket));
  }

  describe(): string {
    return `${this.info.transport}://${this.info.ip} (shell port ${this.info.shell_port})`;
  }

  setHandler(handler: MessageHandler): void {
    this.handler = handler;
  }

  /**
   * Sends in call order. A send waits while the socket has no peer (a kernel not listening there
   * yet, or a connection file whose ports are wrong): callers bound that wait with their timeout.
   */
  send(channel: Exclude<Channel, 'iopub'>, msg: JupyterMessage<unknown>): Promise<void> {
    const frames = this.codec.encode(msg);
    const previous = this.sending.get(channel) ?? Promise.resolve();
    const sent = previous.then(() => (this.sockets[channel] as Dealer).send(frames));
    const settled = sent.catch(() => {});
    this.sending.set(channel, settled);
    void settled.then(() => {
      if (this.sending.get(channel) === settled) this.sending.delete(channel);
    });
    return sent;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const socket of Object.values(this.sockets)) socket.close();
    await Promise.allSettled(this.loops);
  }

  private async receiveLoop(channel: Channel, socket: Socket): Promise<void> {
    try {
      for await (const frames of socket) {
        this.stats.received += 1;
        let msg: JupyterMessage;
        try {
          msg = this.codec.decode(frames);
        } catch (error) {
          // Never let a bad or forged message reach the client or stop the loop: count and drop.
          if (error instanceof ProtocolError && error.reason === 'bad-signature') this.stats.badSignature += 1;
          else this.stats.malformed += 1;
          continue;
        }
        this.handler(channel, msg);
      }
    } catch (error) {
      if (!this.closed) throw error;
    }
  }
}

export function curveOptions(info: ConnectionInfo): Record<string, string> {
  if (!info.curve_publickey || !info.curve_secretkey) return {};
  return {
    curveServerKey: info.curve_publickey,
    curvePublicKey: info.curve_publickey,
    curveSecretKey: info.curve_secretkey,
  };
}
