/**
 * Heartbeat: pings the kernel's echo socket and reports the kernel lost after `timeoutMs` of
 * silence. ipykernel answers from a C-level zmq device, so a long-running cell does not delay it.
 * A DEALER (not REQ) socket, so a missed reply never wedges a send/receive state machine.
 */
import { Context, Dealer } from 'zeromq';
import { endpoint, type ConnectionInfo } from './connection.js';
import { curveOptions } from './zmq-transport.js';

export interface HeartbeatOptions {
  intervalMs?: number;
  timeoutMs?: number;
}

export class Heartbeat {
  private readonly socket: Dealer;
  private readonly context = new Context({ blocky: false });
  private timer: NodeJS.Timeout | undefined;
  private lastPong = 0;
  private closed = false;
  private readonly loop: Promise<void>;
  readonly intervalMs: number;
  readonly timeoutMs: number;

  constructor(
    info: ConnectionInfo,
    private readonly onLost: (silentForMs: number) => void,
    options: HeartbeatOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 500;
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.socket = new Dealer({
      context: this.context,
      linger: 0,
      sendHighWaterMark: 4,
      sendTimeout: 0,
      ...curveOptions(info),
    });
    this.socket.connect(endpoint(info, 'hb'));
    this.loop = this.receive();
    this.resume();
  }

  /** Stops watching (during a restart the kernel is legitimately silent). */
  pause(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  resume(): void {
    if (this.closed) return;
    this.pause();
    this.lastPong = Date.now();
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.pause();
    this.socket.close();
    await this.loop;
  }

  private tick(): void {
    const silentFor = Date.now() - this.lastPong;
    if (silentFor > this.timeoutMs) {
      this.pause();
      this.onLost(silentFor);
      return;
    }
    // A full send queue (kernel gone) throws EAGAIN at once with sendTimeout 0: that is expected.
    this.socket.send('ping').catch(() => {});
  }

  private async receive(): Promise<void> {
    try {
      for await (const _ of this.socket) this.lastPong = Date.now();
    } catch {
      // Closed.
    }
  }
}
