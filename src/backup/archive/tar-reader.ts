import { BLOCK, decodeHeader, entryType, padding, parsePax, type TarHeader } from './tar-header.ts';

// A streaming tar parser that never buffers more than one entry's metadata: file data is
// passed through chunk by chunk, and the pax / GNU long-name records before an entry are refused
// past a limit (all of them together: each is kept until the entry), so an untrusted archive
// cannot make us hold an arbitrary amount of memory.

export type TarEvent = { kind: 'entry'; header: TarHeader } | { kind: 'data'; chunk: Buffer } | { kind: 'end' };

export class TarFormatError extends Error {}

const MAX_META = 64 * 1024;

export async function* readTar(source: AsyncIterable<Buffer>, maxMeta = MAX_META): AsyncGenerator<TarEvent> {
  const r = new ByteReader(source[Symbol.asyncIterator]());
  try {
    yield* entries(r, maxMeta);
  } finally {
    // a consumer that stops early must not leave the source (a device stream) open and paused
    await r.close();
  }
}

async function* entries(r: ByteReader, maxMeta: number): AsyncGenerator<TarEvent> {
  let pax: Record<string, string> = {};
  let longName: string | undefined;
  let longLink: string | undefined;
  let meta = 0;
  for (;;) {
    const block = await r.readExact(BLOCK);
    if (!block) throw new TarFormatError('tar: stream ended without an end-of-archive marker');
    const raw = decodeHeader(block);
    if (!raw) {
      await r.drain();
      return;
    }
    if ('xgLK'.includes(raw.typeflag)) {
      meta += raw.size;
      if (meta > maxMeta) throw new TarFormatError(`tar: the metadata records of one entry exceed ${maxMeta} bytes`);
      const body = await r.readExact(raw.size + padding(raw.size));
      if (!body) throw new TarFormatError('tar: truncated metadata record');
      const data = body.subarray(0, raw.size);
      if (raw.typeflag === 'x') pax = { ...pax, ...parsePax(data) };
      if (raw.typeflag === 'L') longName = cString(data);
      if (raw.typeflag === 'K') longLink = cString(data);
      continue;
    }
    const type = entryType(raw.typeflag);
    if (!type) throw new TarFormatError(`tar: unsupported entry type '${raw.typeflag}' for ${raw.path}`);
    const header: TarHeader = {
      type,
      path: pax.path ?? longName ?? raw.path,
      linkpath: pax.linkpath ?? longLink ?? raw.linkpath,
      mode: raw.mode,
      uid: paxNumber(pax.uid) ?? raw.uid,
      gid: paxNumber(pax.gid) ?? raw.gid,
      size: paxNumber(pax.size) ?? raw.size,
      mtime: paxNumber(pax.mtime) ?? raw.mtime,
    };
    pax = {};
    longName = longLink = undefined;
    meta = 0;
    yield { kind: 'entry', header };
    // only regular files carry data; other types may still declare a size that must be skipped
    let remaining = header.size;
    while (remaining > 0) {
      const chunk = await r.readUpTo(remaining);
      if (!chunk) throw new TarFormatError(`tar: truncated data for ${header.path}`);
      remaining -= chunk.length;
      if (type === 'file') yield { kind: 'data', chunk };
    }
    await r.skip(padding(header.size));
    yield { kind: 'end' };
  }
}

function cString(b: Buffer): string {
  const end = b.indexOf(0);
  return b.toString('utf8', 0, end < 0 ? b.length : end);
}

function paxNumber(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new TarFormatError(`tar: bad pax number ${v}`);
  return Math.floor(n);
}

class ByteReader {
  private pending: Buffer = Buffer.alloc(0);
  constructor(private readonly it: AsyncIterator<Buffer>) {}

  private async next(): Promise<Buffer | null> {
    const next = await this.it.next();
    if (next.done) return null;
    return Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
  }

  /**
   * n bytes; a read across chunks copies just those n (a header split over two socket reads used
   * to join the whole next chunk onto the tail, so every chunk of small files was copied again)
   */
  async readExact(n: number): Promise<Buffer | null> {
    if (this.pending.length >= n) {
      const out = this.pending.subarray(0, n);
      this.pending = this.pending.subarray(n);
      return out;
    }
    const parts = this.pending.length ? [this.pending] : [];
    let have = this.pending.length;
    while (have < n) {
      const chunk = await this.next();
      if (!chunk) {
        if (have === 0) return null;
        throw new TarFormatError('tar: truncated stream');
      }
      parts.push(chunk);
      have += chunk.length;
    }
    const last = parts.pop() as Buffer;
    const keep = last.length - (have - n);
    this.pending = last.subarray(keep);
    if (parts.length === 0) return last.subarray(0, keep);
    parts.push(last.subarray(0, keep));
    return Buffer.concat(parts, n);
  }

  async readUpTo(n: number): Promise<Buffer | null> {
    while (this.pending.length === 0) {
      const chunk = await this.next();
      if (!chunk) return null;
      this.pending = chunk;
    }
    const out = this.pending.subarray(0, Math.min(n, this.pending.length));
    this.pending = this.pending.subarray(out.length);
    return out;
  }

  async skip(n: number): Promise<void> {
    if (n > 0 && !(await this.readExact(n))) throw new TarFormatError('tar: truncated padding');
  }

  async close(): Promise<void> {
    await this.it.return?.();
  }

  async drain(): Promise<void> {
    this.pending = Buffer.alloc(0);
    while (await this.next());
  }
}
