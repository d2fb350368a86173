/**
 * What the comparison is doing, on the terminal: one line that updates in
 * place when stdout is a TTY, plain lines otherwise (CI logs, tests). Lasting
 * lines (a phase's result) are printed above the updating one.
 */
export class Progress {
  private readonly tty = Boolean(process.stdout.isTTY);
  private current = '';
  private readonly started = performance.now();
  private lastPlain = '';

  /** The running status, e.g. "[2/3 microservices] load 4/10 s". */
  status(text: string): void {
    this.current = text;
    if (this.tty) {
      const width = process.stdout.columns || 100;
      const line = `${this.elapsed()} ${text}`;
      process.stdout.write(`\r\u001b[2K${line.length > width - 1 ? `${line.slice(0, width - 2)}…` : line}`);
    } else if (text !== this.lastPlain) {
      // Without a TTY, only new phases: a counter ticking every second would flood a log.
      this.lastPlain = text;
      process.stdout.write(`${this.elapsed()} ${text}\n`);
    }
  }

  /** A counter within a phase (seconds of load, requests): shown only on a TTY, where it updates in place. */
  tick(text: string): void {
    if (this.tty) this.status(text);
  }

  /** A line that stays: the phase's outcome. */
  log(text: string): void {
    if (this.tty) process.stdout.write(`\r\u001b[2K${text}\n${this.current ? `${this.elapsed()} ${this.current}` : ''}`);
    else process.stdout.write(`${text}\n`);
  }

  /** Ends the updating line before the final output. */
  done(): void {
    if (this.tty) process.stdout.write('\r\u001b[2K');
    this.current = '';
  }

  private elapsed(): string {
    const s = Math.floor((performance.now() - this.started) / 1000);
    return `[${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}]`;
  }
}
