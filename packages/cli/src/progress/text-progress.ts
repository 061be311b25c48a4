/**
 * The text progress line: the current step, and while blobs are written or read, bytes done of
 * the total, throughput and ETA. On a terminal one line is rewritten (at most 10 times a second);
 * elsewhere (--progress=text into a file) a line per step and per second of byte progress.
 */
import { formatBytes, type ProgressEvent, type ProgressListener } from '@nbferry/migrate';
import type { Progress, ProgressStream, ProgressTask } from './progress.js';

/** Byte progress of one save or load, as the renderer tracks it. */
export interface ByteState {
  done: number;
  total: number;
  /** When the operation started (ms, performance.now). */
  startedMs: number;
}

export class TextProgress implements Progress {
  private step = '';
  private bytes: ByteState | undefined;
  private bytesOp: 'save' | 'load' | undefined;
  /** When the current save or load step began: throughput counts from there. */
  private opStartedMs: number | undefined;
  private lastDraw = 0;
  private drawnBytes = false;
  private shown = false;

  constructor(
    private readonly stream: ProgressStream,
    private readonly tty: boolean,
    private readonly now: () => number = () => performance.now(),
  ) {}

  listener(task: ProgressTask): ProgressListener {
    return (event) => this.update(task, event);
  }

  end(): void {
    if (this.tty && this.shown) this.stream.write('\r\x1b[2K');
    this.shown = false;
  }

  private update(task: ProgressTask, event: ProgressEvent): void {
    const now = this.now();
    if (event.phase === 'bytes') {
      if (this.bytesOp !== event.op || !this.bytes) {
        this.bytesOp = event.op;
        this.bytes = { done: 0, total: event.total, startedMs: this.opStartedMs ?? now };
      }
      if (this.bytes.done === event.done && this.bytes.total === event.total && this.drawnBytes) return;
      this.bytes.done = event.done;
      this.bytes.total = event.total;
      const last = event.done >= event.total;
      if (!last && now - this.lastDraw < (this.tty ? 100 : 1000)) return;
      this.drawnBytes = true;
    } else {
      const step = describeStep(event);
      if (step === undefined) return;
      // A new save or load starts its own byte count; reruns and fallbacks between loads keep it;
      // other steps (commit, verify, ...) come after the bytes and drop them.
      const startsOp = (event.phase === 'save' && this.bytesOp !== 'save') || (event.phase === 'load' && this.bytesOp !== 'load');
      if (startsOp || !['save', 'load', 'run', 'fallback'].includes(event.phase)) {
        this.bytes = undefined;
        this.bytesOp = undefined;
        this.drawnBytes = false;
        this.opStartedMs = startsOp ? now : undefined;
      }
      this.step = step;
    }
    this.lastDraw = now;
    this.draw(`${task}: ${this.step}${this.bytes ? `  ${formatByteProgress(this.bytes, now)}` : ''}`);
  }

  private draw(text: string): void {
    this.shown = true;
    if (this.tty) this.stream.write(`\r\x1b[2K${text}`);
    else this.stream.write(`${text}\n`);
  }
}

/** `1.2 GiB / 2.0 GiB  60% [############........]  410 MiB/s  ETA 2 s` */
export function formatByteProgress(state: ByteState, nowMs: number): string {
  const total = Math.max(state.total, state.done);
  const fraction = total > 0 ? state.done / total : 1;
  const seconds = (nowMs - state.startedMs) / 1000;
  const rate = seconds > 0 ? state.done / seconds : 0;
  const parts = [`${formatBytes(state.done)} / ${formatBytes(total)}`, `${Math.floor(fraction * 100)}% [${bar(fraction)}]`];
  if (rate > 0) parts.push(`${formatBytes(rate)}/s`);
  if (state.done < total && rate > 0) parts.push(`ETA ${formatEta((total - state.done) / rate)}`);
  return parts.join('  ');
}

export function formatEta(seconds: number): string {
  if (seconds < 60) return `${Math.ceil(seconds)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds - minutes * 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

function bar(fraction: number, width = 20): string {
  const done = Math.min(width, Math.max(0, Math.round(fraction * width)));
  return `${'#'.repeat(done)}${'.'.repeat(width - done)}`;
}

function describeStep(event: Exclude<ProgressEvent, { phase: 'bytes' }>): string | undefined {
  switch (event.phase) {
    case 'save':
      return `writing ${event.groups} group${event.groups === 1 ? '' : 's'}`;
    case 'load':
      return `step ${event.index + 1}/${event.total}: loading ${event.names.join(', ')}`;
    case 'run':
      return `step ${event.index + 1}/${event.total}: rerunning cell ${event.cell}: ${event.label}`;
    case 'fallback':
      return `fallback: ${event.reason}`;
    case 'sync':
      return 'reading the history';
    case 'measure':
      return 'measuring variables';
    case 'plan':
      return 'planning';
    case 'commit':
      return 'committing';
    case 'compatibility':
      return 'checking the environment';
    case 'attach':
      return 'installing the shim';
    case 'verify':
      return 'verifying every variable';
  }
}
