import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  ftruncateSync,
  lchownSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  type Stats,
  symlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { type EntryType, encodeHeader, padding, type TarHeader } from '../src/backup/archive/tar-header.ts';
import { readTar } from '../src/backup/archive/tar-reader.ts';

// Interop with the tar that runs on the phone, in both directions: what `toybox tar -c` writes
// must read back as lstat describes it, and what we write must extract with `toybox tar -x` as
// intended. TOYBOX_TAR='/path/to/tar' runs the same tests against another toybox build (the
// Android 10-13 versions, see docs/archive-format.md). Ownership needs root, as on the phone.

const TAR = (process.env.TOYBOX_TAR ?? 'toybox tar').split(' ');
const ROOT = process.getuid?.() === 0;
const CJK_218 = `./${'文'.repeat(39)}/${'字'.repeat(32)}-1`;

function tar(args: string[], input?: Buffer) {
  const [cmd, ...pre] = TAR as [string, ...string[]];
  return spawnSync(cmd, [...pre, ...args], { input, maxBuffer: 64 << 20 });
}

const scratches: string[] = [];
afterAll(() => {
  for (const dir of scratches) rmSync(dir, { recursive: true, force: true });
});

function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tar-toybox-'));
  scratches.push(dir);
  return dir;
}

/** GNU touch sets what Node cannot: an mtime before 1970, and a symlink's own mtime. */
function touch(path: string, seconds: number): void {
  expect(spawnSync('touch', ['-h', '-d', `@${seconds}`, path]).status).toBe(0);
}

function kindOf(st: Stats): EntryType {
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isDirectory()) return 'directory';
  if (st.isFIFO()) return 'fifo';
  if (st.isFile()) return 'file';
  throw new Error(`unexpected file type ${st.mode.toString(8)}`);
}

function rel(path: string): string {
  return path.replace(/^\.\//, '').replace(/\/$/, '').replace(/^\.$/, '');
}

function walk(dir: string, base = ''): string[] {
  return readdirSync(join(dir, base), { withFileTypes: true }).flatMap((d) => {
    const r = base ? `${base}/${d.name}` : d.name;
    return d.isDirectory() ? [r, ...walk(dir, r)] : [r];
  });
}

async function parse(stream: Buffer): Promise<{ header: TarHeader; data: Buffer }[]> {
  const out: { header: TarHeader; data: Buffer }[] = [];
  for await (const ev of readTar(Readable.from([stream]))) {
    if (ev.kind === 'entry') out.push({ header: ev.header, data: Buffer.alloc(0) });
    const last = out.at(-1);
    if (ev.kind === 'data' && last) last.data = Buffer.concat([last.data, ev.chunk]);
  }
  return out;
}

/** Writes a tree holding every shape an app's data can have, with unusual owners and times. */
function shapes(dir: string): void {
  const at = (p: string) => join(dir, p);
  writeFileSync(at('plain'), 'plain');
  chmodSync(at('plain'), 0o640);
  touch(at('plain'), 1_234_567_890.75);
  mkdirSync(at(`d${'a'.repeat(120)}`));
  writeFileSync(at(`d${'a'.repeat(120)}/${'b'.repeat(200)}`), 'long ascii');
  mkdirSync(at('文'.repeat(39)));
  writeFileSync(join(dir, CJK_218), 'cjk 218');
  mkdirSync(at('文'.repeat(80)));
  writeFileSync(at(`${'文'.repeat(80)}/${'字'.repeat(80)}`), 'cjk 483');
  // a CJK name and target: toybox's own header sum passes 0o77777, which its reader refuses
  symlinkSync('字'.repeat(40), at('文'.repeat(40)));
  symlinkSync('x'.repeat(117), at('link117'));
  symlinkSync('y/'.repeat(150), at('link300'));
  mkdirSync(at('l'.repeat(120)));
  writeFileSync(at(`${'l'.repeat(120)}/one`), 'hard');
  linkSync(at(`${'l'.repeat(120)}/one`), at(`${'l'.repeat(120)}/two`));
  // sparse: toybox -c without -S writes the holes as zeros
  const fd = openSync(at('sparse'), 'w');
  ftruncateSync(fd, 5 << 20);
  writeSync(fd, Buffer.from('middle'), 0, 6, 2 << 20);
  writeSync(fd, Buffer.from('end'), 0, 3, (5 << 20) - 3);
  closeSync(fd);
  expect(spawnSync('mkfifo', ['-m', '0640', at('fifo')]).status).toBe(0);
  mkdirSync(at('empty'));
  mkdirSync(at('cache'));
  chmodSync(at('cache'), 0o2771);
  writeFileSync(at('setuid'), '#!/bin/sh\n');
  chmodSync(at('setuid'), 0o4755);
  writeFileSync(at('old'), 'before 1970');
  touch(at('old'), -315_619_200);
  writeFileSync(at('future'), 'after 2242');
  touch(at('future'), 10_413_792_000);
  if (ROOT) {
    lchownSync(at('plain'), 10_123, 20_123);
    lchownSync(at('cache'), 10_123, 20_123);
    lchownSync(at('fifo'), 3_000_000, 3_000_001);
    lchownSync(at('link117'), 3_000_000, 3_000_001);
  }
}

describe('toybox tar -c, read by readTar', () => {
  it('reads every entry as lstat describes it, also headers toybox cannot read back', async () => {
    const dir = scratch();
    shapes(dir);
    const created = tar(['-cf', '-', '-C', dir, '.']);
    expect(created.stderr.toString()).toBe('');
    expect(created.status).toBe(0);
    const entries = await parse(created.stdout);
    expect(entries.map((e) => rel(e.header.path)).sort()).toEqual(['', ...walk(dir)].sort());
    for (const { header: h, data } of entries) {
      const path = join(dir, rel(h.path));
      const st = lstatSync(path);
      const seen = {
        type: h.type === 'hardlink' ? 'file' : h.type,
        mode: h.mode,
        uid: h.uid,
        gid: h.gid,
        mtime: h.mtime,
        size: h.size,
      };
      expect(seen, h.path).toEqual({
        type: kindOf(st),
        mode: st.mode & 0o7777,
        uid: st.uid,
        gid: st.gid,
        mtime: Math.floor(st.mtimeMs / 1000),
        size: h.type === 'file' ? st.size : 0,
      });
      if (h.type === 'symlink') expect(h.linkpath).toBe(readlinkSync(path, 'utf8'));
      if (h.type === 'hardlink') expect(lstatSync(join(dir, rel(h.linkpath))).ino).toBe(st.ino);
      if (h.type === 'file') expect(data.equals(readFileSync(path)), h.path).toBe(true);
    }
    const types = entries.map((e) => e.header.type);
    expect(types).toContain('hardlink');
    expect(types).toContain('fifo');
    expect(entries.find((e) => e.header.path.endsWith('old'))?.header.mtime).toBe(-315_619_200);
    // toybox writes 6 checksum digits, and its reader refuses its own header for the CJK link
    // (name and target fields full of bytes >= 0x80, so a sum over 0o77777 that starts with '1')
    expect(tar(['-tf', '-'], created.stdout).stderr.toString()).toBe('tar: bad header\n');
  });
});

/** An entry we mean to write, and what the extracted file must then look like. */
interface Intended extends TarHeader {
  body?: Buffer;
  /** the mtime toybox must set, when it is not `mtime` */
  expectMtime?: number;
}

function entry(path: string, type: EntryType, more: Partial<Intended> = {}): Intended {
  const body = more.body ?? Buffer.alloc(0);
  const mode = type === 'directory' ? 0o755 : type === 'symlink' ? 0o777 : 0o644;
  return { path, type, mode, uid: 10_123, gid: 10_123, size: body.length, mtime: 1_600_000_000, linkpath: '', ...more };
}

function stream(entries: Intended[]): Buffer {
  return Buffer.concat([
    ...entries.flatMap((e) => [encodeHeader(e), e.body ?? Buffer.alloc(0), Buffer.alloc(padding(e.size))]),
    Buffer.alloc(1024),
  ]);
}

describe('encodeHeader, extracted by toybox tar -x', () => {
  const longDir = `./${'m'.repeat(200)}`;
  const intended: Intended[] = [
    entry('./', 'directory', { mode: 0o751 }),
    entry(`./${'文'.repeat(39)}/`, 'directory'),
    entry(CJK_218, 'file', { body: Buffer.from('218 bytes of CJK path') }),
    entry(`./${'文'.repeat(80)}/`, 'directory'),
    entry(`./${'文'.repeat(80)}/${'字'.repeat(80)}`, 'file', { body: Buffer.from('483 bytes of CJK path') }),
    entry(`${longDir}/`, 'directory', { mode: 0o700 }),
    entry(`${longDir}/${'n'.repeat(200)}`, 'file', { body: Buffer.alloc(70_000, 'z'), mode: 0o600 }),
    entry(`${longDir}/hard`, 'hardlink', { linkpath: `${longDir}/${'n'.repeat(200)}`, mode: 0o600 }),
    entry(`./${'o'.repeat(100)}`, 'file', { body: Buffer.from('a 100-byte path') }),
    entry(`./${'p'.repeat(99)}`, 'file', { body: Buffer.from('a 101-byte path') }),
    entry('./link101', 'symlink', { linkpath: 'q'.repeat(101) }),
    entry('./link300', 'symlink', { linkpath: 'r/'.repeat(150) }),
    entry('./link-cjk', 'symlink', { linkpath: `../${'字'.repeat(60)}` }),
    entry(`./${'文'.repeat(40)}`, 'symlink', { linkpath: '字'.repeat(40) }),
    entry('./fifo', 'fifo', { mode: 0o640 }),
    entry('./empty/', 'directory'),
    entry('./cache/', 'directory', { mode: 0o2771, gid: 20_123 }),
    entry('./sticky/', 'directory', { mode: 0o1777 }),
    entry('./setuid', 'file', { mode: 0o4755, body: Buffer.from('#!/bin/sh\n') }),
    entry('./big-ids', 'file', { uid: 3_000_000, gid: 3_000_001, body: Buffer.from('ids past 0o7777777') }),
    entry('./fraction', 'file', { mtime: 1_600_000_000.9, expectMtime: 1_600_000_000 }),
    entry('./epoch', 'file', { mtime: 0 }),
    entry('./before-1970', 'file', { mtime: -315_619_200, expectMtime: 0 }),
    entry('./after-2242', 'file', { mtime: 10_413_792_000, expectMtime: 8 ** 11 - 1 }),
  ];

  it('writes the 218-byte CJK path whose header sum needs a seventh checksum digit', () => {
    expect(Buffer.byteLength(CJK_218)).toBe(218);
    const block = encodeHeader(intended.find((e) => e.path === CJK_218)!);
    expect(block.length).toBe(512);
    const field = block.toString('latin1', 148, 156);
    expect(field).toMatch(/^0[0-7]{6}\0$/);
    expect(Number.parseInt(field, 8)).toBeGreaterThan(0o77777);
  });

  it('extracts every entry as intended', () => {
    const out = scratch();
    const extracted = tar(['-xf', '-', '-C', out], stream(intended));
    expect(extracted.stderr.toString()).toBe('');
    expect(extracted.status).toBe(0);
    expect(['', ...walk(out)].sort()).toEqual(intended.map((e) => rel(e.path)).sort());
    for (const e of intended) {
      const path = join(out, rel(e.path));
      const st = lstatSync(path);
      expect({ type: kindOf(st), mode: st.mode & 0o7777, mtime: Math.floor(st.mtimeMs / 1000) }, e.path).toEqual({
        type: e.type === 'hardlink' ? 'file' : e.type,
        mode: e.mode,
        mtime: e.expectMtime ?? e.mtime,
      });
      if (ROOT) expect({ uid: st.uid, gid: st.gid }, e.path).toEqual({ uid: e.uid, gid: e.gid });
      if (e.type === 'symlink') expect(readlinkSync(path, 'utf8')).toBe(e.linkpath);
      if (e.type === 'hardlink') expect(lstatSync(join(out, rel(e.linkpath))).ino).toBe(st.ino);
      if (e.type === 'file') expect(readFileSync(path).equals(e.body ?? Buffer.alloc(0)), e.path).toBe(true);
    }
  });

  it('reads back what it wrote', async () => {
    const entries = await parse(stream(intended));
    expect(entries.map((e) => e.header)).toEqual(
      intended.map(({ body: _, expectMtime, ...h }) => ({ ...h, mtime: expectMtime ?? h.mtime })),
    );
  });
});

describe('a file over 8 GiB', () => {
  const size = 9 * 2 ** 30;
  const head = encodeHeader(entry('./big', 'file', { size, uid: 0, gid: 0 }));
  const after = encodeHeader(entry('./after', 'file', { uid: 0, gid: 0 }));

  it('is listed by toybox with its size, finding the entry after it, and read back by readTar', async () => {
    // the data is a hole: the archive takes a few blocks of disk, not 9 GiB
    const file = join(scratch(), 'big.tar');
    const fd = openSync(file, 'w');
    writeSync(fd, head);
    const next = head.length + size + padding(size);
    writeSync(fd, after, 0, after.length, next);
    ftruncateSync(fd, next + after.length + 1024);
    closeSync(fd);
    expect(lstatSync(file).blocks * 512).toBeLessThan(1 << 20);
    const listed = tar(['-tvf', file]);
    expect(listed.stderr.toString()).toBe('');
    expect(listed.status).toBe(0);
    const lines = listed.stdout.toString().trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/ 9663676416 .* \.\/big$/);
    expect(lines[1]).toMatch(/ \.\/after$/);
    const events = readTar(Readable.from([head]));
    const first = await events.next();
    await events.return(undefined);
    expect(first.value).toMatchObject({ kind: 'entry', header: { path: './big', size } });
  });
});

describe('a UNIX socket in toybox tar -c input', () => {
  it('is skipped with "unknown file type", exit 1, and the rest of the archive is complete', async () => {
    const dir = scratch();
    writeFileSync(join(dir, 'a'), 'before');
    writeFileSync(join(dir, 'z'), 'after');
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(join(dir, 'sock'), resolve));
    try {
      const created = tar(['-cf', '-', '-C', dir, '.']);
      // toybox 0.8.6+ adds "had errors"; 0.8.0-0.8.4 print the first line only (tar.c 0.8.9:321)
      expect(created.stderr.toString()).toBe("tar: unknown file type '140000'\ntar: had errors\n");
      expect(created.status).toBe(1);
      const entries = await parse(created.stdout);
      expect(entries.map((e) => e.header.path).sort()).toEqual(['./', './a', './z']);
    } finally {
      server.close();
    }
  });
});
