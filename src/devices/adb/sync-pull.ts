import { Readable } from 'node:stream';
import type { ByteReader } from './byte-reader.ts';

// RECV as a Readable: one DATA message per _read, so the device is only asked for more (through
// the ADB stream's deferred OKAY) when our consumer wants more.

export const SYNC_DATA_MAX = 64 * 1024;

export interface PullSource {
  reader: ByteReader;
  failure: (why: string) => Error;
  /** runs once the pull ended, failed or was destroyed */
  release: () => void;
}

export class PullStream extends Readable {
  private source: PullSource | null = null;

  constructor(
    private readonly path: string,
    private readonly start: () => Promise<PullSource>,
  ) {
    super();
  }

  override _construct(callback: (error?: Error | null) => void): void {
    this.start().then((source) => {
      this.source = source;
      callback();
    }, callback);
  }

  override _read(): void {
    this.next().catch((err: Error) => this.destroy(err));
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.source?.release();
    callback(error);
  }

  private async next(): Promise<void> {
    const { reader, failure } = this.source as PullSource;
    for (;;) {
      const head = await reader.read(8);
      const id = head.toString('latin1', 0, 4);
      const len = head.readUInt32LE(4);
      if (id === 'DATA') {
        if (len > SYNC_DATA_MAX) throw failure(`pull ${this.path}: DATA chunk of ${len} bytes`);
        if (len === 0) continue;
        this.push(await reader.read(len));
        return;
      }
      if (id === 'DONE') {
        this.push(null);
        return;
      }
      if (id === 'FAIL') {
        const message = (await reader.read(Math.min(len, SYNC_DATA_MAX))).toString('utf8');
        throw failure(`pull ${this.path} failed: ${message}`);
      }
      throw failure(`pull ${this.path}: unexpected sync reply ${JSON.stringify(id)}`);
    }
  }
}
