/** Progress on stderr: one rewritten status line on a terminal, plain lines otherwise (CI logs). */

export class Progress {
  private readonly tty = Boolean(process.stderr.isTTY);
  private readonly started = performance.now();
  private prefix = '';

  constructor(private readonly total: number) {}

  notebook(index: number, path: string, repeat: number, repeats: number): void {
    this.prefix = `[${index + 1}/${this.total}] ${path}${repeats > 1 ? ` (repeat ${repeat + 1}/${repeats})` : ''}`;
  }

  step(text: string): void {
    const line = `${this.elapsed()} ${this.prefix} · ${text}`;
    if (this.tty) process.stderr.write(`\r\x1b[2K${line.slice(0, (process.stderr.columns ?? 120) - 1)}`);
    else process.stderr.write(`${line}\n`);
  }

  /** A line that stays (results of a notebook, warnings). */
  log(text: string): void {
    if (this.tty) process.stderr.write('\r\x1b[2K');
    process.stderr.write(`${text}\n`);
  }

  private elapsed(): string {
    const s = Math.round((performance.now() - this.started) / 1000);
    return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
  }
}
