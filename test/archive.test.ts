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
import { encodeHeader, padding } from '../src/backup/archive/tar-header.ts';
import { zstdCompress } from '../src/backup/archive/zstd.ts';

const PKG = 'com.example.notes';

function manifest(): Manifest {
  return {
    format: 'cloudphone-backup',
    version: 1,
    created: new Date(0).toISOString(),
    backupFileId: 'bf-test',
    instance: {
      id: 'acp-a',
      name: 'a',
      imageId: 'img',
      imageVersion: '1',
      imageType: 'public',
      instanceType: 'cpm.gx7.10xlarge',
      abi: 'x86_64',
      sdk: 33,
      androidVersion: '13',
      fingerprint: 'fp',
    },
    apps: [
      {
        package: PKG,
        versionCode: 3,
        versionName: '1.2',
        signerDigest: null,
        sourceUid: 10001,
        permissions: [],
        apks: [{ name: 'base.apk', size: 5 }],
        parts: ['ce'],
        installer: null,
        system: false,
        sharedUser: null,
        skipped: [],
      },
    ],
  };
}

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
