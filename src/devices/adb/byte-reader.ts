import type { Readable } from 'node:stream';

// Exact-length reads from a paused Readable (the sync protocol's framing). Bytes stay in the
// stream's own buffer until asked for, so the ADB layer's back-pressure keeps working.

export class ByteReader {
  constructor(
    private readonly stream: Readable,
    private readonly onEnd: () => Error,
  ) {}

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
      await this.readable();
    }
  }

  private readable(): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = (err?: Error) => {
        this.stream.off('readable', onReadable).off('end', onReadable).off('close', onReadable);
        this.stream.off('error', done);
        if (err) reject(err);
        else resolve();
      };
      const onReadable = () => done();
      this.stream.on('readable', onReadable).on('end', onReadable).on('close', onReadable).on('error', done);
    });
  }
}
