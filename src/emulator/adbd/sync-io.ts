import type { AdbStream } from './adb-stream.ts';

/** waits for room in the outbound queue, so a slow host throttles us */
export async function reply(stream: AdbStream, data: Buffer): Promise<true> {
  if (stream.isHungUp || stream.destroyed || stream.writableEnded) return true;
  if (stream.write(data)) return true;
  await new Promise<void>((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      stream.off('hangup', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
    stream.on('hangup', done);
  });
  return true;
}

export async function fail(stream: AdbStream, message: Buffer): Promise<false> {
  await reply(stream, message);
  return false;
}

/**
 * Gathers the pieces of one answer so they leave as one WRTE: the host stalls ~40 ms on each
 * extra small WRTE of a reply. Pieces go out once 64 KiB have gathered, so memory stays bounded.
 */
export class ReplyBatch {
  private parts: Buffer[] = [];
  private size = 0;

  constructor(private readonly stream: AdbStream) {}

  async add(piece: Buffer): Promise<void> {
    this.parts.push(piece);
    this.size += piece.length;
    if (this.size >= BATCH_BYTES) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.size === 0) return;
    const all = this.parts.length === 1 ? (this.parts[0] as Buffer) : Buffer.concat(this.parts, this.size);
    this.parts = [];
    this.size = 0;
    await reply(this.stream, all);
  }
}

const BATCH_BYTES = 64 * 1024;
