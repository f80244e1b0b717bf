import type { Readable } from 'node:stream';

// Exact-length reads from a paused Readable (the sync protocol's framing). Bytes stay in the
// stream's own buffer until asked for, so the ADB layer's back-pressure keeps working.
// The listeners stay attached for the reader's life: re-adding a 'readable' listener while a
// partial message is buffered makes Node emit 'readable' again at once, a busy loop that
// starves the very I/O that would complete the message.

export class ByteReader {
  private wake: (() => void) | null = null;

  constructor(
    private readonly stream: Readable,
    private readonly onEnd: () => Error,
  ) {
    const notify = () => {
      const wake = this.wake;
      this.wake = null;
      wake?.();
    };
    stream.on('readable', notify).on('end', notify).on('close', notify).on('error', notify);
  }

  async read(n: number): Promise<Buffer> {
    if (n === 0) return Buffer.alloc(0);
    for (;;) {
      const chunk = this.stream.read(n) as Buffer | null;
      if (chunk !== null) {
        if (chunk.length < n) throw this.onEnd();
        return chunk;
      }
      if (this.stream.errored) throw this.stream.errored;
      if (this.stream.readableEnded || this.stream.destroyed) throw this.onEnd();
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }
}
