import { addAbortSignal, type Readable } from 'node:stream';
import { ERRORS } from '../../errors.ts';
import type { AdbConnection } from './adb-connection.ts';
import type { AdbStream } from './adb-stream.ts';
import { ByteReader } from './byte-reader.ts';
import { PullStream, SYNC_DATA_MAX } from './sync-pull.ts';

// The `sync:` service: one request at a time on one stream (STAT/STA2, LIST/LIS2, SEND, QUIT).
// Pull lives in sync-pull.ts because it is a stream of its own.

export interface SyncStat {
  mode: number;
  size: number;
  /** seconds since the epoch */
  mtime: number;
  /** only with stat_v2 / ls_v2 */
  uid?: number;
  gid?: number;
}

export interface SyncEntry extends SyncStat {
  name: string;
}

const MAX_PATH = 1024;
const S_IFMT = 0o170000;

export function syncRequest(id: string, body: Buffer | string): Buffer {
  const data = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const header = Buffer.alloc(8);
  header.write(id, 0, 'latin1');
  header.writeUInt32LE(data.length, 4);
  return Buffer.concat([header, data]);
}

export function checkSyncPath(conn: AdbConnection, path: string): void {
  if (Buffer.byteLength(path) > MAX_PATH || path.includes('\0')) {
    throw ERRORS.deviceCommandFailed(conn.address, `sync path too long or invalid: ${JSON.stringify(path)}`);
  }
}

export class SyncSession {
  private readonly reader: ByteReader;

  static async open(conn: AdbConnection, signal?: AbortSignal): Promise<SyncSession> {
    return new SyncSession(conn, await conn.open('sync:', signal));
  }

  private constructor(
    private readonly conn: AdbConnection,
    private readonly stream: AdbStream,
  ) {
    // the reader also listens for 'error', which it surfaces on the next read
    this.reader = new ByteReader(stream, () => this.failure('the device closed the sync stream'));
  }

  /** lstat; null when the path does not exist */
  async stat(path: string): Promise<SyncStat | null> {
    checkSyncPath(this.conn, path);
    const v2 = this.conn.features.has('stat_v2');
    await this.write(syncRequest(v2 ? 'STA2' : 'STAT', path));
    const id = (await this.reader.read(4)).toString('latin1');
    if (id !== (v2 ? 'STA2' : 'STAT')) throw await this.unexpected(id, 'STAT');
    if (!v2) {
      const b = await this.reader.read(12);
      const mode = b.readUInt32LE(0);
      // v1 reports a missing path as all zeros
      return mode === 0 ? null : { mode, size: b.readUInt32LE(4), mtime: b.readUInt32LE(8) };
    }
    const b = await this.reader.read(68);
    if (b.readUInt32LE(0) !== 0) return null;
    return parseV2(b, 20);
  }

  async list(path: string): Promise<SyncEntry[]> {
    checkSyncPath(this.conn, path);
    const v2 = this.conn.features.has('ls_v2');
    await this.write(syncRequest(v2 ? 'LIS2' : 'LIST', path));
    const entries: SyncEntry[] = [];
    for (;;) {
      const id = (await this.reader.read(4)).toString('latin1');
      if (id === 'DONE') {
        await this.reader.read(v2 ? 72 : 16);
        return entries;
      }
      if (id !== (v2 ? 'DNT2' : 'DENT')) throw await this.unexpected(id, 'LIST');
      const b = await this.reader.read(v2 ? 72 : 16);
      const name = (await this.reader.read(b.readUInt32LE(v2 ? 68 : 12))).toString('utf8');
      if (name === '.' || name === '..') continue;
      if (!v2) entries.push({ name, mode: b.readUInt32LE(0), size: b.readUInt32LE(4), mtime: b.readUInt32LE(8) });
      else if (b.readUInt32LE(0) === 0) entries.push({ name, ...parseV2(b, 20) });
    }
  }

  /** writes a file (or, with an S_IFLNK mode, a symlink whose target is the data) */
  async push(path: string, source: Readable, opts: { mode: number; mtime: number }): Promise<void> {
    checkSyncPath(this.conn, path);
    await this.write(syncRequest('SEND', `${path},${opts.mode & (S_IFMT | 0o7777)}`));
    for await (const data of source as AsyncIterable<Buffer | string>) {
      const chunk = typeof data === 'string' ? Buffer.from(data) : data;
      for (let offset = 0; offset < chunk.length; offset += SYNC_DATA_MAX) {
        await this.write(syncRequest('DATA', chunk.subarray(offset, offset + SYNC_DATA_MAX)));
      }
    }
    const done = Buffer.alloc(8);
    done.write('DONE', 0, 'latin1');
    done.writeUInt32LE(opts.mtime >>> 0, 4);
    await this.write(done);
    const id = (await this.reader.read(4)).toString('latin1');
    if (id === 'OKAY') {
      await this.reader.read(4);
      return;
    }
    throw await this.unexpected(id, `SEND ${path}`);
  }

  /** RECV as a back-pressured stream; the session must not be used until it ended */
  pull(path: string): Readable {
    return new PullStream(path, async () => ({ ...this.startPull(path), release: () => {} }));
  }

  /** sends RECV; the caller reads the reply through the returned reader */
  startPull(path: string): { reader: ByteReader; failure: (why: string) => Error } {
    checkSyncPath(this.conn, path);
    this.stream.write(syncRequest('RECV', path));
    return { reader: this.reader, failure: (why) => this.failure(why) };
  }

  async close(): Promise<void> {
    if (!this.stream.destroyed && !this.conn.isClosed) {
      await this.write(syncRequest('QUIT', '')).catch(() => {});
    }
    this.stream.destroy();
  }

  private write(data: Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.stream.write(data, (err) => (err ? reject(err) : resolve())));
  }

  private async unexpected(id: string, what: string): Promise<Error> {
    if (id === 'FAIL') {
      const len = (await this.reader.read(4)).readUInt32LE(0);
      const message = (await this.reader.read(Math.min(len, 64 * 1024))).toString('utf8');
      return this.failure(`${what} failed: ${message}`);
    }
    return this.failure(`unexpected sync reply ${JSON.stringify(id)} to ${what}`);
  }

  private failure(why: string): Error {
    return ERRORS.deviceCommandFailed(this.conn.address, why);
  }
}

/** A file's bytes over a sync session of its own, closed (QUIT) when the stream ends. */
export function pullFile(conn: AdbConnection, path: string, signal?: AbortSignal): Readable {
  const stream = new PullStream(path, async () => {
    const session = await SyncSession.open(conn, signal);
    return { ...session.startPull(path), release: () => void session.close() };
  });
  return signal ? addAbortSignal(signal, stream) : stream;
}

function parseV2(b: Buffer, modeAt: number): SyncStat {
  // after error(4) dev(8) ino(8): mode nlink uid gid (u32), size (u64), atime mtime ctime (i64)
  return {
    mode: b.readUInt32LE(modeAt),
    uid: b.readUInt32LE(modeAt + 8),
    gid: b.readUInt32LE(modeAt + 12),
    size: Number(b.readBigUInt64LE(modeAt + 16)),
    mtime: Number(b.readBigInt64LE(modeAt + 32)),
  };
}
