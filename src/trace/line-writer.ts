/**
 * Lines gathered into large writes: one write per 64 KiB instead of one per line, as stdio
 * buffers a stream that is not a terminal. A hop trace of a long run is millions of lines, and
 * a system call per line cost more than producing them.
 */
export class BufferedLineWriter {
  private pending: string[] = [];
  private pendingBytes = 0;

  constructor(
    private readonly write: (chunk: string) => void,
    private readonly flushBytes = 64 * 1024,
  ) {}

  /** Adds a line (without its newline); writes out when the buffer is full. */
  line(text: string): void {
    this.pending.push(text);
    this.pendingBytes += text.length + 1;
    if (this.pendingBytes >= this.flushBytes) this.flush();
  }

  /** Writes out whatever is buffered. */
  flush(): void {
    if (this.pending.length === 0) return;
    const chunk = `${this.pending.join('\n')}\n`;
    this.pending = [];
    this.pendingBytes = 0;
    this.write(chunk);
  }
}
