import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Manifest } from '../../src/backup/archive/manifest.ts';
import { encodeHeader, padding } from '../../src/backup/archive/tar-header.ts';

// Hand-made archives with valid digests holding whatever entries a test wants, so a refusal
// must come from the entry rules rather than from a checksum.

export interface CraftEntry {
  path: string;
  type?: 'file' | 'symlink' | 'hardlink' | 'directory' | 'fifo' | 'char' | 'block';
  body?: Buffer | string;
  /** a symlink's target, or the archive path a hard link names */
  link?: string;
  /** pax records ('x') written before the entry's header, one record per map */
  pax?: Record<string, string>[];
}

export interface CraftOptions {
  /** what SHA256SUMS holds instead of the right list, made from it */
  sums?: (right: string) => string;
  /**
   * a SHA256SUMS of any size instead: its size and its bytes, which go to zstd as they are made
   * (with craftArchiveStream), so a test never holds the whole claim
   */
  claimedSums?: { size: number; body: () => Iterable<Buffer> };
}

/** `manifest` may be any JSON, to try manifests the schema must refuse or fill in */
export function craftArchive(
  manifest: Manifest | object,
  entries: CraftEntry[],
  options: CraftOptions = {},
): { object: Buffer; sha256: string } {
  const tar = Buffer.concat([...tarBlocks(manifest, entries, options)]);
  const object = spawnSync('zstd', ['-q', '-c'], { input: tar, maxBuffer: 1 << 30 }).stdout;
  return { object, sha256: createHash('sha256').update(object).digest('hex') };
}

/** As craftArchive, but the tar is streamed through zstd: for archives far larger compressed out than in. */
export async function craftArchiveStream(
  manifest: Manifest | object,
  entries: CraftEntry[],
  options: CraftOptions = {},
): Promise<{ object: Buffer; sha256: string }> {
  const zstd = spawn('zstd', ['-q', '-c'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const chunks: Buffer[] = [];
  zstd.stdout.on('data', (c: Buffer) => chunks.push(c));
  const exited = new Promise<number | null>((resolve) => zstd.on('close', resolve));
  await pipeline(Readable.from(tarBlocks(manifest, entries, options)), zstd.stdin);
  const code = await exited;
  if (code !== 0) throw new Error(`zstd exited with ${code}`);
  const object = Buffer.concat(chunks);
  return { object, sha256: createHash('sha256').update(object).digest('hex') };
}

function* tarBlocks(manifest: Manifest | object, entries: CraftEntry[], options: CraftOptions = {}): Generator<Buffer> {
  let sums = '';
  function* add(path: string, e: Omit<CraftEntry, 'path'>, size?: number): Generator<Buffer> {
    const type = e.type ?? 'file';
    const data = Buffer.from(e.body ?? '');
    for (const records of e.pax ?? []) yield* paxRecord(records);
    const header = { path, type, mode: 0o644, uid: 0, gid: 0, size: size ?? data.length, mtime: 0 };
    yield encodeHeader({ ...header, linkpath: e.link ?? '' });
    if (size === undefined) yield Buffer.concat([data, Buffer.alloc(padding(data.length))]);
    if (type === 'file') sums += `${createHash('sha256').update(data).digest('hex')}  ${path}\n`;
  }
  yield* add('cloudphone-backup.json', { body: JSON.stringify(manifest) });
  for (const e of entries) yield* add(e.path, e);
  const claim = options.claimedSums;
  if (claim) {
    yield* add('SHA256SUMS', {}, claim.size);
    yield* claim.body();
    yield Buffer.alloc(padding(claim.size));
  } else {
    yield* add('SHA256SUMS', { body: options.sums ? options.sums(sums) : sums });
  }
  yield Buffer.alloc(1024);
}

/** One pax extended header: a header block with typeflag 'x', then "<len> key=value\n" records. */
function* paxRecord(records: Record<string, string>): Generator<Buffer> {
  const body = Buffer.concat(
    Object.entries(records).map(([k, v]) => {
      const rest = ` ${k}=${v}\n`;
      // the length counts its own digits
      let len = Buffer.byteLength(rest) + 1;
      while (String(len).length + Buffer.byteLength(rest) !== len) len++;
      return Buffer.from(`${len}${rest}`);
    }),
  );
  const head = encodeHeader({
    path: 'PaxHeaders/x',
    type: 'file',
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: body.length,
    mtime: 0,
    linkpath: '',
  });
  head.write('x', 156, 1, 'latin1');
  head.fill(0x20, 148, 156);
  const sum = head.reduce((a, b) => a + b, 0);
  head.write(`${sum.toString(8).padStart(7, '0')}\0`, 148, 8, 'latin1');
  yield head;
  yield Buffer.concat([body, Buffer.alloc(padding(body.length))]);
}
