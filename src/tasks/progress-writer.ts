// Progress arrives per chunk (thousands of calls a second); the database sees the latest value
// at most once per interval, with writes kept in order.

export class ProgressWriter {
  private latest: { done: number; total: number } | null = null;
  private lastWrite = 0;
  private timer: NodeJS.Timeout | null = null;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly intervalMs: number,
    private readonly write: (done: number, total: number) => Promise<void>,
  ) {}

  update(done: number, total: number): void {
    this.latest = { done, total };
    if (this.timer) return;
    const wait = Math.max(0, this.lastWrite + this.intervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush().catch(() => {
        // a missed progress write is harmless; the next update or the final flush retries
      });
    }, wait);
  }

  /** writes the latest value now (if any is pending) and waits for all writes so far */
  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const value = this.latest;
    this.latest = null;
    if (value) {
      this.lastWrite = Date.now();
      this.chain = this.chain.catch(() => undefined).then(() => this.write(value.done, value.total));
    }
    return this.chain;
  }
}
