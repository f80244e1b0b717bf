import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Phone } from '../src/emulator/android/phone.ts';
import { shell } from '../src/emulator/android/testing.ts';
import { startPhoneAs } from '../src/emulator/android/testing-release.ts';

// The seed apps on an Android 12 phone (FUSE external storage). The system image's launcher
// (appId 10000) is scanned before the seed apps are installed.

let dir: string;
let root: string;
let phone: Phone;
const sh = (command: string) => shell(phone, command);
const NOTES = '/data/user/0/com.example.notes';

beforeAll(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'phone-seed-'));
  root = path.join(dir, 'root');
  phone = await startPhoneAs(root, 12, { seedApps: true });
});
afterAll(async () => {
  await phone?.close();
  await fsp.rm(dir, { recursive: true, force: true });
});

describe('seed apps', () => {
  it('installs the sample apps through the package manager, with a runtime grant', async () => {
    expect((await sh('pm list packages -U')).stdout).toBe(
      [
        'package:com.example.gallery uid:10002',
        'package:com.example.launcher uid:10000',
        'package:com.example.notes uid:10001',
        'package:com.example.sync uid:10003',
        'package:com.example.sync.plugin uid:10003',
        '',
      ].join('\n'),
    );
    expect((await sh('pm list packages -3 -U --user 10 notes')).stdout).toBe('package:com.example.notes uid:1010001\n');
    expect((await sh('pm path com.example.gallery')).stdout).toMatch(/base\.apk\n.*split_config\.xxhdpi\.apk\n$/);
    const dump = (await sh('dumpsys package com.example.notes')).stdout;
    expect(dump).toMatch(/android\.permission\.CAMERA: granted=true/);
    expect(dump).toMatch(/android\.permission\.READ_CONTACTS: granted=false/);
  });

  it('has a shared-UID pair whose grants live on the shared user, one of them suspended by another party', async () => {
    const dump = (await sh('dumpsys package com.example.sync.plugin')).stdout;
    expect(dump).toContain('    sharedUser=SharedUserSetting{');
    expect(dump).toContain(
      '    Suspend params:\n      suspendingPackage=com.google.android.apps.wellbeing dialogInfo=null\n',
    );
    const shared = dump.slice(dump.indexOf('\nShared users:\n'));
    expect(shared).toContain(
      '        android.permission.READ_CONTACTS: granted=true, flags=[ POLICY_FIXED|USER_SENSITIVE_WHEN_GRANTED|USER_SENSITIVE_WHEN_DENIED]\n',
    );
    expect(shared).toContain(
      '        android.permission.CAMERA: granted=true, flags=[ USER_SET|USER_SENSITIVE_WHEN_GRANTED|USER_SENSITIVE_WHEN_DENIED]\n',
    );
  });

  it('fills CE, DE, external, OBB and cache with owners, modes, links and old mtimes', async () => {
    const r = await sh(
      [
        `cd ${NOTES}`,
        'stat -c "%n %u %g %a" files files/empty files/notes/2023/03/pi-day.txt files/notes/2023/03/remaining.md files/run.sh databases/notes.db cache/thumbnail.tmp code_cache/startup.prof',
        'readlink files/latest; cat files/latest',
        'stat -c "%Y" files/notes/2023/03/pi-day.txt files/run.sh',
        'stat -c "%s" files/blob.bin',
        'ls files/empty | wc -l',
        'stat -c "%n %u %g %a" /data/user_de/0/com.example.notes/files/boot-state.txt /data/media/0/Android/data/com.example.notes/files/exports/export-1.csv /data/media/0/Android/obb/com.example.notes/main.1.com.example.notes.obb',
      ].join('; '),
    );
    expect(r.stderr).toBe('');
    const lines = r.stdout.trim().split('\n');
    expect(lines.slice(0, 8)).toEqual([
      'files 10001 10001 771',
      'files/empty 10001 10001 771',
      'files/notes/2023/03/pi-day.txt 10001 10001 600',
      'files/notes/2023/03/remaining.md 10001 10001 640',
      'files/run.sh 10001 10001 755',
      'databases/notes.db 10001 10001 660',
      'cache/thumbnail.tmp 10001 20001 600',
      'code_cache/startup.prof 10001 20001 600',
    ]);
    expect(lines.slice(8, 10)).toEqual(['notes/2023/03/pi-day.txt', 'Buy pie.']);
    expect(lines.slice(10, 12).map(Number)).toEqual([
      Date.parse('2023-03-14T15:09:26Z') / 1000,
      Date.parse('2021-07-01T08:00:00Z') / 1000,
    ]);
    expect(Number(lines[12])).toBeGreaterThan(10 * 1024 * 1024);
    expect(lines[13]).toBe('0');
    // FUSE (11+): the app's own uid, the folder's gid ext_data_rw (1078) / ext_obb_rw (1079) by setgid
    expect(lines.slice(14)).toEqual([
      '/data/user_de/0/com.example.notes/files/boot-state.txt 10001 10001 600',
      '/data/media/0/Android/data/com.example.notes/files/exports/export-1.csv 10001 1078 660',
      '/data/media/0/Android/obb/com.example.notes/main.1.com.example.notes.obb 10001 1079 660',
    ]);
    expect((await sh('stat -c "%u %g %a" /data/media/0/Android/data/com.example.notes')).stdout).toBe(
      '10001 1078 2770\n',
    );
    expect((await sh('cat /data/user/10/com.example.notes/files/work-profile.txt')).stdout).toBe('work profile data\n');
    expect((await sh('ls /data/user/10/com.example.notes/files')).stdout).toBe('work-profile.txt\n');
  });

  it('writes a real SQLite database', () => {
    const db = new Database(path.join(phone.root, NOTES, 'databases/notes.db'), { readonly: true });
    try {
      expect(db.prepare('SELECT count(*) AS n FROM notes').get()).toEqual({ n: 50 });
    } finally {
      db.close();
    }
  });

  it('is idempotent: a restart with seedApps changes nothing', async () => {
    const blob = path.join(phone.root, NOTES, 'files/blob.bin');
    const before = await fsp.stat(blob);
    const list = (await sh('pm list packages -U')).stdout;
    await phone.close();
    phone = await startPhoneAs(root, 12, { seedApps: true });
    expect((await sh('pm list packages -U')).stdout).toBe(list);
    const after = await fsp.stat(blob);
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
  });
});

describe('seed apps on Android 10 (sdcardfs)', () => {
  it('leaves external data as sdcardfs writes it: media_rw:media_rw, folders 0775, files 0664', async () => {
    const dir10 = await fsp.mkdtemp(path.join(os.tmpdir(), 'phone-seed10-'));
    const phone10 = await startPhoneAs(path.join(dir10, 'root'), 10, { seedApps: true });
    try {
      const r = await shell(
        phone10,
        'cd /data/media/0/Android && stat -c "%n %u %g %a" data/com.example.notes data/com.example.notes/files/exports data/com.example.notes/files/exports/export-1.csv obb/com.example.notes/main.1.com.example.notes.obb',
      );
      expect(r.stdout).toBe(
        [
          'data/com.example.notes 1023 1023 775',
          'data/com.example.notes/files/exports 1023 1023 775',
          'data/com.example.notes/files/exports/export-1.csv 1023 1023 664',
          'obb/com.example.notes/main.1.com.example.notes.obb 1023 1023 664',
          '',
        ].join('\n'),
      );
      // Android 10 has no Android/media (the profile's androidDirs), for the work profile either
      expect((await shell(phone10, 'ls /data/media/10/Android')).stdout).toBe('data\nobb\n');
      expect((await shell(phone10, 'pm path com.example.notes')).stdout).toMatch(
        /^package:\/data\/app\/com\.example\.notes-[\w-]+==\/base\.apk\n$/,
      );
    } finally {
      await phone10.close();
      await fsp.rm(dir10, { recursive: true, force: true });
    }
  });
});
