import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { type ArchiveEvent, readArchive } from '../src/backup/archive/archive-reader.ts';
import { type CraftEntry, craftArchive } from './helpers/craft-archive.ts';

// The archive rules that must agree with what the phone will accept at restore: a backup that
// verifies must be restorable (FIFOs are archived by toybox, so they must be allowed), the
// manifest must be as strict as the device layer (a name pm or the shell would refuse is refused
// before anything is touched), and manifests of earlier backups keep reading.

const PKG = 'com.example.notes';
const ce = `apps/${PKG}/ce`;

const manifest = (app: Record<string, unknown> = {}) => ({
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
    sdk: 34,
    androidVersion: '14',
    fingerprint: 'fp',
  },
  apps: [
    {
      package: PKG,
      versionCode: 3,
      versionName: '1.2',
      signerDigest: null,
      sourceUid: 10001,
      permissions: ['android.permission.CAMERA'],
      apks: [{ name: 'base.apk', size: 5 }],
      parts: ['ce'],
      ...app,
    },
  ],
});

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
