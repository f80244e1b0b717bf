import { createHash } from 'node:crypto';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { ERRORS, ServiceError } from '../../errors.ts';
import { type ArchivePart, MANIFEST_NAME, type Manifest, SUMS_NAME, sumsLine } from './manifest.ts';
import { pathRoot } from './path-manifest.ts';
import { BLOCK, encodeHeader, padding, type TarHeader } from './tar-header.ts';
import { readTar, TarFormatError } from './tar-reader.ts';

// Writes the version 1 archive (uncompressed tar) into `out`: the manifest, then each app's
// entries re-rooted under apps/<pkg>/<part>/, then a file backup's paths under paths/<i>/,
// then SHA256SUMS. Every write waits for `out`
// to drain, so a slow object store slows the device down instead of filling memory. Headers,
// paddings and small files are gathered into one buffer before they reach `out` (zstd's stdin):
// written one by one, an app of 20,000 small files cost 60,000 pipe writes.

/** pieces below this are copied into the gathering buffer; larger ones go through as they are */
const SMALL = 64 * 1024;
const GATHER = 256 * 1024;

export class ArchiveWriter {
  private sums: string[] = [];
  private pendingPad = 0;
  private gather = Buffer.allocUnsafe(GATHER);
  private gathered = 0;

  constructor(
    private readonly out: Writable,
    private readonly onBytes: (n: number) => void = () => {},
    private readonly signal?: AbortSignal,
    /** refuses (throws for) a file entry the restore could not extract, e.g. one too large for the phone's tar */
    private readonly checkFile: (path: string, size: number) => void = () => {},
  ) {}

  async writeManifest(manifest: Manifest): Promise<void> {
    const body = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
    await this.writeWhole(MANIFEST_NAME, body);
  }

  /** Adds one file of known size; fails if the source delivers a different number of bytes. */
  async addFile(
    path: string,
    meta: Omit<TarHeader, 'path' | 'type' | 'linkpath'>,
    source: AsyncIterable<Buffer> | Iterable<Buffer>,
  ) {
    this.checkFile(path, meta.size);
    await this.write(encodeHeader({ ...meta, path, type: 'file', linkpath: '' }));
    const hash = createHash('sha256');
    let seen = 0;
    for await (const chunk of source) {
      seen += chunk.length;
      if (seen > meta.size) break;
      hash.update(chunk);
      await this.write(chunk);
      this.onBytes(chunk.length);
    }
    if (seen !== meta.size) throw ERRORS.sourceChanged(path, `${meta.size} bytes expected, ${seen} or more read`);
    await this.write(Buffer.alloc(padding(meta.size)));
    this.sums.push(sumsLine(hash.digest('hex'), path));
  }

  /** Re-roots every entry of a device tar stream under `apps/<pkg>/<part>/`. */
  addTree(pkg: string, part: ArchivePart, tar: AsyncIterable<Buffer>, skip: (rel: string) => boolean = () => false) {
    return this.addEntries(`apps/${pkg}/${part}/`, pkg, tar, skip);
  }

  /** Re-roots a device tar stream of one BackupFile path under `paths/<index>/` (path-manifest.ts). */
  addPath(index: number, path: string, tar: AsyncIterable<Buffer>) {
    return this.addEntries(pathRoot(index), path, tar, () => false);
  }

  private async addEntries(root: string, what: string, tar: AsyncIterable<Buffer>, skip: (rel: string) => boolean) {
    let hash: ReturnType<typeof createHash> | null = null;
    let path = '';
    let skipping = false;
    for await (const ev of deviceTar(tar, what)) {
      if (ev.kind === 'entry') {
        const rel = relativeName(ev.header.path);
        skipping = skip(rel);
        if (skipping) continue;
        const h = ev.header;
        path = root + rel + (h.type === 'directory' && rel ? '/' : '');
        if (h.type === 'file') this.checkFile(path, h.size);
        const linkpath = h.type === 'hardlink' ? root + relativeName(h.linkpath) : h.linkpath;
        await this.write(encodeHeader({ ...h, path, linkpath, size: h.type === 'file' ? h.size : 0 }));
        hash = h.type === 'file' ? createHash('sha256') : null;
        this.pendingPad = h.type === 'file' ? padding(h.size) : 0;
      } else if (ev.kind === 'data') {
        if (skipping || !hash) continue;
        hash.update(ev.chunk);
        await this.write(ev.chunk);
        this.onBytes(ev.chunk.length);
      } else if (!skipping && hash) {
        await this.write(Buffer.alloc(this.pendingPad));
        this.sums.push(sumsLine(hash.digest('hex'), path));
        hash = null;
      }
    }
  }

  /** Writes SHA256SUMS and the end-of-archive marker, then ends `out`. */
  async finish(): Promise<void> {
    await this.writeWhole(SUMS_NAME, Buffer.from(this.sums.join('')), false);
    await this.write(Buffer.alloc(BLOCK * 2));
    await this.flush();
    this.out.end();
  }

  private async writeWhole(path: string, body: Buffer, summed = true): Promise<void> {
    const mtime = Math.floor(Date.now() / 1000);
    await this.write(
      encodeHeader({ path, type: 'file', mode: 0o644, uid: 0, gid: 0, size: body.length, mtime, linkpath: '' }),
    );
    await this.write(Buffer.concat([body, Buffer.alloc(padding(body.length))]));
    if (summed) this.sums.push(sumsLine(createHash('sha256').update(body).digest('hex'), path));
  }

  private async write(chunk: Buffer): Promise<void> {
    if (chunk.length === 0) return;
    if (chunk.length >= SMALL) {
      await this.flush();
      return this.send(chunk);
    }
    if (this.gathered + chunk.length > GATHER) await this.flush();
    chunk.copy(this.gather, this.gathered);
    this.gathered += chunk.length;
  }

  private async flush(): Promise<void> {
    if (this.gathered === 0) return;
    const full = this.gather.subarray(0, this.gathered);
    // `out` may still hold the gathered buffer: the next one is new
    this.gather = Buffer.allocUnsafe(GATHER);
    this.gathered = 0;
    await this.send(full);
  }

  private async send(chunk: Buffer): Promise<void> {
    if (this.out.destroyed) throw new Error('archive output closed');
    if (!this.out.write(chunk)) await once(this.out, 'drain', { signal: this.signal });
  }
}

/** the phone's tar stream, whose format errors are the phone's, not an internal fault */
async function* deviceTar(tar: AsyncIterable<Buffer>, pkg: string) {
  try {
    yield* readTar(tar);
  } catch (err) {
    // the header codec's own errors start with "tar:" too (tar-header.ts)
    const format = err instanceof TarFormatError || (err instanceof Error && err.message.startsWith('tar: '));
    if (err instanceof ServiceError || !format) throw err;
    throw ERRORS.deviceTarMalformed(pkg, err.message);
  }
}

/** `./a/b` → `a/b`, `./` → `` (the folder itself). */
function relativeName(name: string): string {
  return name
    .replace(/^(\.\/|\/)+/, '')
    .replace(/^\.$/, '')
    .replace(/\/+$/, '');
}
