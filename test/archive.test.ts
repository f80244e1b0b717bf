import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { type ArchiveEvent, readArchive } from '../src/backup/archive/archive-reader.ts';
import { ArchiveWriter } from '../src/backup/archive/archive-writer.ts';
import type { Manifest } from '../src/backup/archive/manifest.ts';
import { encodeHeader, padding, type TarHeader } from '../src/backup/archive/tar-header.ts';
import { readTar } from '../src/backup/archive/tar-reader.ts';
import { zstdCompress } from '../src/backup/archive/zstd.ts';
import { testManifest } from './helpers/test-manifest.ts';

const PKG = 'com.example.notes';

const manifest = (): Manifest => testManifest();

function sourceTree(): string {
  const dir = mkdtempSync(join(tmpdir(), 'archive-src-'));
  mkdirSync(join(dir, 'files/deep/er'), { recursive: true });
  mkdirSync(join(dir, 'empty'));
  mkdirSync(join(dir, 'lib'));
  writeFileSync(join(dir, 'lib/libx.so'), 'native');
  writeFileSync(join(dir, 'files/deep/er/a.txt'), 'hello');
  writeFileSync(join(dir, `files/${'n'.repeat(150)}.txt`), 'long name');
  symlinkSync('deep/er/a.txt', join(dir, 'files/link'));
  utimesSync(join(dir, 'files/deep/er/a.txt'), 1_000_000, 1_000_000);
  return dir;
}

function tarOf(dir: string): Readable {
  return spawn('tar', ['-cf', '-', '-C', dir, '.'], { stdio: ['ignore', 'pipe', 'inherit'] }).stdout;
}

async function writeArchive(build: (w: ArchiveWriter) => Promise<void>): Promise<Buffer> {
  const z = zstdCompress();
  const chunks: Buffer[] = [];
  z.output.on('data', (c: Buffer) => chunks.push(c));
  const w = new ArchiveWriter(z.input);
  await build(w);
  await z.done;
  return Buffer.concat(chunks);
}

async function events(object: Buffer): Promise<ArchiveEvent[]> {
  const out: ArchiveEvent[] = [];
  for await (const ev of readArchive(Readable.from([object]))) out.push(ev);
  return out;
}

const standard = (dir: string) => async (w: ArchiveWriter) => {
  await w.writeManifest(manifest());
  await w.addFile(`apps/${PKG}/apk/base.apk`, { mode: 0o644, uid: 1000, gid: 1000, size: 5, mtime: 1 }, [
    Buffer.from('apk!!'),
  ]);
  await w.addTree(PKG, 'ce', tarOf(dir), (rel) => rel === 'lib' || rel.startsWith('lib/'));
  await w.finish();
};

describe('archive format v1', () => {
  it('round-trips through the system tar and sha256sum, manifest first and SHA256SUMS last', async () => {
    const object = await writeArchive(standard(sourceTree()));
    const out = mkdtempSync(join(tmpdir(), 'archive-out-'));
    writeFileSync(join(out, 'a.tar.zst'), object);
    const list = spawnSync('tar', ['--zstd', '-tvf', 'a.tar.zst'], { cwd: out, encoding: 'utf8' });
    const names = list.stdout.trim().split('\n');
    expect(names[0]).toContain('cloudphone-backup.json');
    expect(names.at(-1)).toContain('SHA256SUMS');
    expect(list.stdout).not.toContain('/lib');
    expect(list.stdout).toContain(`apps/${PKG}/ce/files/link -> deep/er/a.txt`);
    expect(spawnSync('tar', ['--zstd', '-xf', 'a.tar.zst'], { cwd: out }).status).toBe(0);
    const check = spawnSync('sha256sum', ['--strict', '-c', 'SHA256SUMS'], { cwd: out, encoding: 'utf8' });
    expect(check.status, check.stderr).toBe(0);
    expect(readFileSync(join(out, `apps/${PKG}/ce/files/${'n'.repeat(150)}.txt`), 'utf8')).toBe('long name');
  });

  it('reads back verified events and reports the object digest', async () => {
    const object = await writeArchive(standard(sourceTree()));
    const evs = await events(object);
    expect(evs[0]).toMatchObject({ kind: 'manifest' });
    const done = evs.at(-1);
    expect(done).toEqual({
      kind: 'done',
      sha256: createHash('sha256').update(object).digest('hex'),
      size: object.length,
    });
    const rels = evs.flatMap((e) => (e.kind === 'entry' ? [`${e.entry.part}:${e.entry.rel}`] : []));
    expect(rels).toContain('ce:files/deep/er/a.txt');
    expect(rels).toContain('ce:empty');
  });

  it('refuses a truncated object and a flipped byte', async () => {
    const object = await writeArchive(standard(sourceTree()));
    await expect(events(object.subarray(0, object.length - 20))).rejects.toMatchObject({ code: 'BackupFileCorrupted' });
    const flipped = Buffer.from(object);
    const mid = Math.floor(flipped.length / 2);
    flipped[mid] = (flipped[mid] as number) ^ 0xff;
    await expect(events(flipped)).rejects.toMatchObject({ code: 'BackupFileCorrupted' });
  });
});

/** Builds an archive by hand, with correct digests, holding whatever entries a test wants. */
async function craft(
  entries: { path: string; type?: 'file' | 'symlink' | 'directory'; body?: string; link?: string }[],
) {
  const m = manifest();
  let sums = '';
  const blocks: Buffer[] = [];
  const add = (path: string, type: 'file' | 'symlink' | 'directory', body = '', link = '') => {
    const data = Buffer.from(body);
    blocks.push(encodeHeader({ path, type, mode: 0o644, uid: 0, gid: 0, size: data.length, mtime: 0, linkpath: link }));
    blocks.push(data, Buffer.alloc(padding(data.length)));
    if (type === 'file') sums += `${createHash('sha256').update(data).digest('hex')}  ${path}\n`;
  };
  add('cloudphone-backup.json', 'file', JSON.stringify(m));
  add(`apps/${PKG}/apk/base.apk`, 'file', 'apk!!');
  add(`apps/${PKG}/ce/`, 'directory');
  for (const e of entries) add(e.path, e.type ?? 'file', e.body, e.link);
  add('SHA256SUMS', 'file', sums);
  blocks.push(Buffer.alloc(1024));
  const z = spawnSync('zstd', ['-q', '-c'], { input: Buffer.concat(blocks) });
  return z.stdout;
}

describe('untrusted entries', () => {
  const ce = `apps/${PKG}/ce`;
  it.each([
    ['a ../ entry', [{ path: `${ce}/../../../etc/passwd`, body: 'x' }], '".."'],
    ['an absolute entry', [{ path: `/data/system/x`, body: 'x' }], 'absolute'],
    ['a symlink out of the folder', [{ path: `${ce}/l`, type: 'symlink' as const, link: '../../x' }], 'escapes'],
    ['a symlink to /data/system', [{ path: `${ce}/l`, type: 'symlink' as const, link: '/data/system' }], 'outside'],
    [
      'a write through a symlink',
      [
        { path: `${ce}/d`, type: 'symlink' as const, link: 'files' },
        { path: `${ce}/d/x`, body: 'x' },
      ],
      'through a symlink',
    ],
    [
      'a symlink that climbs out through another symlink',
      [
        { path: `${ce}/y`, type: 'symlink' as const, link: 'x/..' },
        { path: `${ce}/x`, type: 'symlink' as const, link: '.' },
      ],
      'through another symlink',
    ],
    ['another package', [{ path: `apps/com.evil.app/ce/x`, body: 'x' }], 'not in the manifest'],
    ['a part missing from the manifest', [{ path: `apps/${PKG}/obb/x`, body: 'x' }], 'not in the manifest'],
  ])('refuses %s', async (_name, entries, why) => {
    const err = await events(await craft(entries)).catch((e: Error) => e);
    expect(err).toMatchObject({ code: 'UnsafeBackupEntry' });
    expect((err as Error).message).toContain(why);
  });

  it('keeps an absolute link into the app’s own folder', async () => {
    const evs = await events(await craft([{ path: `${ce}/own`, type: 'symlink', link: `/data/data/${PKG}/files` }]));
    expect(evs.at(-1)).toMatchObject({ kind: 'done' });
  });
});

/** A header block as another tar wrote it: a plain file, then the raw bytes given per offset. */
function foreignHeader(fields: Record<number, Buffer | string>): Buffer {
  const b = Buffer.alloc(512);
  b.write('n.txt', 0);
  for (const at of [100, 108, 116]) b.write('0000644\0', at, 'latin1');
  for (const at of [124, 136]) b.write('00000000000\0', at, 'latin1');
  b.write('0', 156);
  b.write('ustar\u000000', 257, 'latin1');
  for (const [at, v] of Object.entries(fields)) Buffer.from(v as string, 'latin1').copy(b, Number(at));
  b.fill(0x20, 148, 156);
  const sum = b.reduce((a, x) => a + x, 0);
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return b;
}

async function firstHeader(block: Buffer): Promise<TarHeader> {
  for await (const ev of readTar(Readable.from([Buffer.concat([block, Buffer.alloc(1024)])])))
    if (ev.kind === 'entry') return ev.header;
  throw new Error('no entry');
}

/** Base-256 as toybox 0.8.3/0.8.4 write it: octal digit shifts instead of bytes (tar.c 0.8.3:88-96). */
function toybox083(value: bigint, length: number): Buffer {
  const b = Buffer.alloc(length);
  b[0] = 0x80;
  for (let i = 1; i < length; i++) b[i] = Number((value >> BigInt(3 * (length - i))) & 0xffn);
  return b;
}

describe('headers other tars wrote', () => {
  it('reads a full 155-byte ustar prefix, which the previous encoder wrote', async () => {
    const h = await firstHeader(foreignHeader({ 345: 'p'.repeat(155) }));
    expect(h.path).toBe(`${'p'.repeat(155)}/n.txt`);
  });

  it('ignores the prefix bytes of a GNU header, where they are not a prefix', async () => {
    const h = await firstHeader(foreignHeader({ 257: 'ustar  \0', 345: '14720707655\0' }));
    expect(h.path).toBe('n.txt');
  });

  it('reads a negative base-256 mtime as GNU tar and as toybox 0.8.6+ write it', async () => {
    const gnu = Buffer.alloc(12, 0xff);
    gnu.writeBigInt64BE(-315_619_200n, 4);
    const toybox = Buffer.alloc(12);
    toybox.writeBigUInt64BE(2n ** 64n - 315_619_200n, 4);
    toybox[0] = 0x80;
    for (const field of [gnu, toybox])
      expect((await firstHeader(foreignHeader({ 136: field }))).mtime).toBe(-315_619_200);
  });

  it('reads the broken base-256 of toybox 0.8.3/0.8.4 as the epoch for an mtime, and refuses it for an owner', async () => {
    const mtime = toybox083(2n ** 64n - 315_619_200n, 12);
    expect((await firstHeader(foreignHeader({ 136: mtime }))).mtime).toBe(0);
    await expect(firstHeader(foreignHeader({ 108: toybox083(3_000_000n, 8) }))).rejects.toThrow('owner out of range');
  });
});

describe('the tar reader over a device stream', () => {
  const entry = (path: string, body: Buffer) => [
    encodeHeader({ path, type: 'file', mode: 0o600, uid: 0, gid: 0, size: body.length, mtime: 0, linkpath: '' }),
    body,
    Buffer.alloc(padding(body.length)),
  ];

  it('copies only a header that spans two chunks, and passes the data after it on as views of its chunk', async () => {
    const first = Buffer.alloc(700, 1);
    const second = Buffer.alloc(40_000, 2);
    const tar = Buffer.concat([...entry('a', first), ...entry('b', second), Buffer.alloc(1024)]);
    // the first chunk ends 100 bytes into b's header (a's header, data and padding are 1536 bytes):
    // the second holds the rest of that header and all of b's data
    const split = 1536 + 100;
    const chunks = [Buffer.from(tar.subarray(0, split)), Buffer.from(tar.subarray(split))];
    const data: Buffer[] = [];
    let path = '';
    for await (const ev of readTar(Readable.from(chunks))) {
      if (ev.kind === 'entry') path = ev.header.path;
      if (ev.kind === 'data' && path === 'b') data.push(ev.chunk);
    }
    expect(Buffer.concat(data).equals(second)).toBe(true);
    // the old reader joined the header's tail to the whole next chunk, so every byte of b was copied
    for (const d of data) expect(d.buffer).toBe((chunks[1] as Buffer).buffer);
  });

  it('reads an empty pax record that ends exactly where a chunk ends', async () => {
    const pax = foreignHeader({ 156: 'x' }); // a pax record of 0 bytes
    const rest = Buffer.concat([...entry('a', Buffer.from('after an empty pax record')), Buffer.alloc(1024)]);
    const paths: string[] = [];
    for await (const ev of readTar(Readable.from([pax, rest]))) if (ev.kind === 'entry') paths.push(ev.header.path);
    expect(paths).toEqual(['a']);
  });
});
