import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { maxTarFileSize } from '../src/android/releases.ts';
import { type ArchiveEvent, readArchive } from '../src/backup/archive/archive-reader.ts';
import { ArchiveWriter } from '../src/backup/archive/archive-writer.ts';
import { manifestSchema } from '../src/backup/archive/manifest.ts';
import { encodeHeader, padding } from '../src/backup/archive/tar-header.ts';
import { verifyArchive } from '../src/backup/restore/verify-archive.ts';
import { writeSidecar } from '../src/backup/sidecar.ts';
import { ERRORS } from '../src/errors.ts';
import { FsObjectStore } from '../src/storage/fs-object-store.ts';
import { type CraftEntry, craftArchive } from './helpers/craft-archive.ts';
import { rawManifest } from './helpers/test-manifest.ts';

// The archive rules that must agree with what the phone will accept at restore: a backup that
// verifies must be restorable (FIFOs are archived by toybox, so they must be allowed), the
// manifest must be as strict as the device layer (a name pm or the shell would refuse is refused
// before anything is touched), and manifests of earlier backups keep reading.

const PKG = 'com.example.notes';
const ce = `apps/${PKG}/ce`;

const manifest = (app: Record<string, unknown> = {}) => rawManifest(app);

async function events(m: object, entries: CraftEntry[]): Promise<ArchiveEvent[]> {
  const all: CraftEntry[] = [{ path: `apps/${PKG}/apk/base.apk`, body: 'apk!!' }, ...entries];
  const out: ArchiveEvent[] = [];
  for await (const ev of readArchive(Readable.from([craftArchive(m, all).object]))) out.push(ev);
  return out;
}

describe('archive rules that match the phone', () => {
  it('accepts a FIFO, which toybox archives and extracts without privileges', async () => {
    const evs = await events(manifest(), [
      { path: `${ce}/`, type: 'directory' },
      { path: `${ce}/files/ipc`, type: 'fifo' },
    ]);
    expect(evs.some((e) => e.kind === 'entry' && e.entry.header.type === 'fifo')).toBe(true);
    expect(evs.at(-1)).toMatchObject({ kind: 'done' });
  });

  it('still refuses device nodes', async () => {
    const err = await events(manifest(), [
      { path: `${ce}/`, type: 'directory' },
      { path: `${ce}/tty`, type: 'char' },
    ]).catch((e: Error) => e);
    expect(err).toMatchObject({ code: 'UnsafeBackupEntry' });
  });

  it.each([
    ['a permission name the device layer refuses', { permissions: ['.CAMERA'] }],
    ['a permission name with a shell character', { permissions: ['android.permission.CAMERA;id'] }],
    ['an APK name that is not a plain file name', { apks: [{ name: '-r.apk', size: 5 }] }],
    ['an installer that is not a package name', { installer: 'com.android.vending; reboot' }],
  ])('refuses a manifest with %s', async (_name, app) => {
    const err = await events(manifest(app), [{ path: `${ce}/`, type: 'directory' }]).catch((e: Error) => e);
    expect(err).toMatchObject({ code: 'BackupFileCorrupted' });
    expect((err as Error).message).toMatch(/cloudphone-backup\.json is invalid/);
  });

  it('reads a manifest written before installer, system, sharedUser and skipped existed', async () => {
    const evs = await events(manifest(), [{ path: `${ce}/`, type: 'directory' }]);
    const first = evs.find((e) => e.kind === 'manifest');
    expect(first?.kind === 'manifest' && first.manifest.apps[0]).toMatchObject({
      installer: null,
      system: false,
      sharedUser: null,
      skipped: [],
    });
  });
});

describe('files Android 10’s tar cannot extract (2 GiB and more)', () => {
  const big = 3 * 2 ** 30;
  const header = (path: string) =>
    encodeHeader({ path, type: 'file', mode: 0o600, uid: 10001, gid: 10001, size: big, mtime: 0, linkpath: '' });

  it('fail the backup on an Android 10 phone as soon as tar announces one, and pass on 11', async () => {
    const limit = (sdk: number) => (path: string, size: number) => {
      if (size > maxTarFileSize(sdk)) throw ERRORS.fileTooLarge(path, size, String(sdk - 19));
    };
    const w10 = new ArchiveWriter(new PassThrough().resume(), () => {}, undefined, limit(29));
    // the device's stream holds only the header: the check must come before any data is read
    const err = await w10.addTree(PKG, 'ce', Readable.from([header('./files/huge.bin')])).catch((e: Error) => e);
    expect(err).toMatchObject({ code: 'FileTooLargeForAndroid' });
    expect((err as Error).message).toContain(`apps/${PKG}/ce/files/huge.bin is ${big} bytes`);
    const w11 = new ArchiveWriter(new PassThrough().resume(), () => {}, undefined, limit(30));
    await expect(w11.addTree(PKG, 'ce', Readable.from([header('./files/huge.bin')]))).rejects.toThrow(/truncated/);
  });

  it('refuse the restore onto an Android 10 phone in the verify pass, before reading the file', async () => {
    const store = new FsObjectStore(mkdtempSync(join(tmpdir(), 'rules-store-')));
    const m = manifestSchema.parse(manifest());
    const body = (text: string) => [Buffer.from(text), Buffer.alloc(512 - text.length)];
    const json = JSON.stringify(m);
    const tar = Buffer.concat([
      encodeHeader({ ...file('cloudphone-backup.json'), size: json.length }),
      ...[Buffer.from(json), Buffer.alloc(padding(json.length))],
      encodeHeader({ ...file(`apps/${PKG}/apk/base.apk`), size: 5 }),
      ...body('apk!!'),
      encodeHeader({ ...file(`${ce}/`), type: 'directory', size: 0 }),
      header(`${ce}/huge.bin`),
      Buffer.alloc(4096), // the rest of the 3 GiB never comes
    ]);
    const object = spawnSync('zstd', ['-q', '-c'], { input: tar }).stdout;
    await store.put('bucket', 'k', Readable.from([object]));
    const sha256 = createHash('sha256').update(object).digest('hex');
    const sidecar = { manifest: m, size: object.length, sha256, dataBytes: 5 };
    const target = (sdk: number) => ({ sdk, androidVersion: String(sdk - 19) });
    const verify = (sdk: number) =>
      verifyArchive(
        store,
        { bucket: 'bucket', key: 'k' },
        sidecar,
        target(sdk),
        () => {},
        new AbortController().signal,
      );
    const e29 = await verify(29).catch((e: Error) => e);
    expect(e29, String(e29)).toMatchObject({ code: 'FileTooLargeForAndroid' });
    // Android 11 can take it; this archive then fails for what it is: truncated
    await expect(verify(30)).rejects.toMatchObject({ code: 'BackupFileCorrupted' });
  });
});

const file = (path: string) => ({
  path,
  type: 'file' as const,
  mode: 0o644,
  uid: 0,
  gid: 0,
  size: 0,
  mtime: 0,
  linkpath: '',
});

describe('backup-time failures carry catalogue codes', () => {
  const writer = () => new ArchiveWriter(new PassThrough().resume());
  const meta = { mode: 0o644, uid: 0, gid: 0, size: 10, mtime: 0 };

  it('a file that shrinks or grows while it is read is SourceChangedDuringBackup', async () => {
    await expect(writer().addFile(`apps/${PKG}/apk/base.apk`, meta, [Buffer.alloc(4)])).rejects.toMatchObject({
      code: 'SourceChangedDuringBackup',
    });
    await expect(writer().addFile(`apps/${PKG}/apk/base.apk`, meta, [Buffer.alloc(12)])).rejects.toMatchObject({
      code: 'SourceChangedDuringBackup',
    });
  });

  it('a malformed tar stream from the phone is a device failure, not an internal one', async () => {
    const err = await writer()
      .addTree(PKG, 'ce', Readable.from([Buffer.alloc(512, 0x41)]))
      .catch((e: Error) => e);
    expect(err).toMatchObject({ code: 'DeviceOperationFailed' });
    expect((err as Error).message).toMatch(/tar stream of com\.example\.notes is malformed/);
  });

  it('a sidecar put whose response was lost is not a failure the second time, a different one is', async () => {
    const store = new FsObjectStore(mkdtempSync(join(tmpdir(), 'rules-sidecar-')));
    const sidecar = { manifest: manifestSchema.parse(manifest()), size: 1, sha256: 'a'.repeat(64), dataBytes: 0 };
    await writeSidecar(store, 'bucket', 'k', sidecar);
    await expect(writeSidecar(store, 'bucket', 'k', sidecar)).resolves.toBeUndefined();
    await expect(writeSidecar(store, 'bucket', 'k', { ...sidecar, size: 2 })).rejects.toMatchObject({
      code: 'ResourceAlreadyExists',
    });
  });
});
