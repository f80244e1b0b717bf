import { promises as fsp, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Phone } from '../src/emulator/android/phone.ts';
import { shell } from '../src/emulator/android/testing.ts';
import { startPhoneAs } from '../src/emulator/android/testing-release.ts';

// The package manager through the phone's real shell, on Android 12 (the per-release differences
// have their own tests, test/emulator-packages-*.test.ts). Every phone has one system app, the
// launcher com.example.launcher in /system/app, scanned first: it holds appId 10000.

const FIXTURES = path.join(import.meta.dirname, '..', 'fixtures', 'apks');
const APKS = ['notes.apk', 'notes-v4.apk', 'notes-other-key.apk', 'gallery-base.apk', 'gallery-config.xxhdpi.apk'];
const size = (apk: string) => readFileSync(path.join(FIXTURES, apk)).length;
const tmp = (apk: string) => `/data/local/tmp/${apk}`;

let dir: string;
let root: string;
let phone: Phone;

async function restart(): Promise<void> {
  await phone.close();
  phone = await startPhoneAs(root, 12);
}

const sh = (command: string, input?: Buffer | string) => shell(phone, command, input);
const stat = async (p: string) => (await sh(`stat -c "%u %g %a" ${p}`)).stdout.trim();

beforeAll(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'phone-pm-'));
  root = path.join(dir, 'root');
  phone = await startPhoneAs(root, 12);
  for (const apk of APKS) await fsp.copyFile(path.join(FIXTURES, apk), path.join(phone.root, 'data/local/tmp', apk));
});
afterAll(async () => {
  await phone?.close();
  await fsp.rm(dir, { recursive: true, force: true });
});

async function installSession(apks: string[], createOptions = ''): Promise<{ stdout: string; code: number | null }> {
  const created = await sh(`pm install-create -S 99999 -r -t --user 0 ${createOptions}`);
  const id = /^Success: created install session \[(\d+)\]\n$/.exec(created.stdout)?.[1];
  expect(id, created.stdout + created.stderr).toBeDefined();
  for (const [i, apk] of apks.entries()) {
    // the first APK through stdin, the others by path, as adb and backup tools do
    const w =
      i === 0
        ? await sh(`pm install-write -S ${size(apk)} ${id} ${i}_${apk} -`, readFileSync(path.join(FIXTURES, apk)))
        : await sh(`pm install-write ${id} ${i}_${apk} ${tmp(apk)}`);
    expect(w).toMatchObject({ stdout: `Success: streamed ${size(apk)} bytes\n`, code: 0 });
  }
  return sh(`pm install-commit ${id}`);
}

describe('install sessions', () => {
  it('installs a split set: pm path, list, dumpsys and the app folders', async () => {
    expect(await installSession(['gallery-base.apk', 'gallery-config.xxhdpi.apk'])).toMatchObject({
      stdout: 'Success\n',
      code: 0,
    });
    const paths = await sh('pm path com.example.gallery');
    const m =
      /^package:(\/data\/app\/~~[\w-]+==\/com\.example\.gallery-[\w-]+==)\/base\.apk\npackage:\1\/split_config\.xxhdpi\.apk\n$/.exec(
        paths.stdout,
      );
    expect(m, paths.stdout).not.toBeNull();
    const codePath = m?.[1] as string;
    expect(
      await sh(`cmp ${codePath}/base.apk ${tmp('gallery-base.apk')} && stat -c "%u %g %a" ${codePath}/base.apk`),
    ).toMatchObject({ stdout: '1000 1000 644\n' });
    expect((await sh('pm list packages -f -U')).stdout).toBe(
      `package:${codePath}/base.apk=com.example.gallery uid:10001\n` +
        'package:/system/app/Launcher/Launcher.apk=com.example.launcher uid:10000\n',
    );
    expect((await sh('cmd package path com.example.gallery')).stdout).toBe(paths.stdout);

    const dump = (await sh('dumpsys package com.example.gallery')).stdout;
    expect(dump).toContain('Packages:\n  Package [com.example.gallery] (');
    for (const line of [
      'userId=10001',
      `codePath=${codePath}`,
      'versionCode=7 minSdk=24 targetSdk=29',
      'versionName=2.0',
      'dataDir=/data/user/0/com.example.gallery',
      'splits=[base, config.xxhdpi]',
      'android.permission.INTERNET: granted=true',
      'android.permission.CAMERA: granted=false',
    ]) {
      expect(dump).toContain(line);
    }
    expect(await stat('/data/user/0/com.example.gallery')).toBe('10001 10001 700');
    expect(await stat('/data/user_de/0/com.example.gallery')).toBe('10001 10001 700');
    expect(await stat('/data/user/0/com.example.gallery/cache')).toBe('10001 20001 2771');
    expect(await stat('/data/user/0/com.example.gallery/code_cache')).toBe('10001 20001 2771');
    // installSession creates with --user 0: the work profile (user 10) does not get it
    expect((await sh('ls -d /data/user/10/com.example.gallery')).code).not.toBe(0);
    expect((await sh('pm list packages --user 10 gallery')).stdout).toBe('');
    expect((await sh('ls /data/app')).stdout).not.toMatch(/vmdl/);
  });

  it('refuses broken or inconsistent sets with the package manager codes', async () => {
    const junk = await junkInstall();
    expect(junk.stdout).toMatch(
      /^Failure \[INSTALL_FAILED_INVALID_APK: Failed to parse \/data\/app\/vmdl\d+\.tmp\/junk\.apk: /,
    );
    expect(junk.code).toBe(1);
    const cases: [string[], RegExp][] = [
      [['gallery-base.apk'], /^Failure \[INSTALL_FAILED_MISSING_SPLIT: Missing split for com\.example\.gallery\]\n$/],
      [
        ['gallery-config.xxhdpi.apk'],
        /^Failure \[INSTALL_FAILED_INVALID_APK: Full install must include a base package\]\n$/,
      ],
      [
        ['notes.apk', 'gallery-config.xxhdpi.apk'],
        /^Failure \[INSTALL_FAILED_INVALID_APK: Inconsistent package com\.example\.gallery/,
      ],
    ];
    for (const [apks, expected] of cases) {
      const r = await installSession(apks);
      expect(r.stdout).toMatch(expected);
      expect(r.code).toBe(1);
    }
    expect((await sh('ls /data/app')).stdout).not.toMatch(/vmdl/);
    expect((await sh('pm path com.example.notes')).code).toBe(1);
  });

  it('abandons a session and its staged files', async () => {
    const id = /\[(\d+)\]/.exec((await sh('pm install-create')).stdout)?.[1];
    expect((await sh(`pm install-write ${id} base.apk ${tmp('notes.apk')}`)).code).toBe(0);
    expect((await sh(`ls /data/app/vmdl${id}.tmp`)).stdout).toBe('base.apk\n');
    expect(await sh(`pm install-abandon ${id}`)).toMatchObject({ stdout: 'Success\n', code: 0 });
    expect((await sh(`ls /data/app/vmdl${id}.tmp`)).code).not.toBe(0);
    const gone = await sh(`pm install-commit ${id}`);
    expect(gone.code).toBe(255);
    expect(gone.stderr).toContain(`Caller has no access to session ${id}`);
  });

  it("reads APK paths inside the phone only, following the phone's links as the phone sees them", async () => {
    const id = /\[(\d+)\]/.exec((await sh('pm install-create')).stdout)?.[1];
    await sh('ln -sf /etc/hostname /data/local/tmp/host.apk');
    for (const p of ['/data/local/tmp/host.apk', '/../../../../../etc/hostname', '/data/../../etc/hostname']) {
      expect(await sh(`pm install-write ${id} x.apk ${p}`)).toMatchObject({
        stderr: `Error: Can't open file: ${p}\nConsider using a file under /data/local/tmp/\n`,
        code: 1,
      });
    }
    await sh(`ln -sf ../../../../data/local/tmp/notes.apk /data/local/tmp/rel.apk`);
    expect((await sh(`pm install-write ${id} rel.apk /data/local/tmp/rel.apk`)).stdout).toBe(
      `Success: streamed ${size('notes.apk')} bytes\n`,
    );
    expect((await sh(`pm install-abandon ${id}`)).code).toBe(0);
  });

  it('reads exactly -S bytes from stdin', async () => {
    const id = /\[(\d+)\]/.exec((await sh('pm install-create')).stdout)?.[1];
    const apk = readFileSync(path.join(FIXTURES, 'notes.apk'));
    const r = await sh(
      `pm install-write -S ${apk.length} ${id} base.apk`,
      Buffer.concat([apk, Buffer.from('trailing junk')]),
    );
    expect(r.stdout).toBe(`Success: streamed ${apk.length} bytes\n`);
    expect((await sh(`pm install-abandon ${id}`)).code).toBe(0);
  });
});

// a file that is not a ZIP, written into a session: the commit must fail to parse it
async function junkInstall() {
  await fsp.writeFile(path.join(phone.root, 'data/local/tmp/junk.apk'), 'not a zip at all');
  const id = /\[(\d+)\]/.exec((await sh('pm install-create')).stdout)?.[1];
  expect((await sh(`pm install-write ${id} junk.apk /data/local/tmp/junk.apk`)).code).toBe(0);
  return sh(`pm install-commit ${id}`);
}

describe('updates', () => {
  it('checks signers and version codes like Android', async () => {
    expect(await sh(`pm install ${tmp('notes.apk')}`)).toMatchObject({ stdout: 'Success\n', code: 0 });
    expect(await sh(`pm install ${tmp('notes-other-key.apk')}`)).toMatchObject({
      stdout:
        'Failure [INSTALL_FAILED_UPDATE_INCOMPATIBLE: Package com.example.notes signatures do not match previously installed version; ignoring!]\n',
      code: 1,
    });
    const v4 = readFileSync(path.join(FIXTURES, 'notes-v4.apk'));
    expect(await sh(`pm install -r -S ${v4.length}`, v4)).toMatchObject({ stdout: 'Success\n', code: 0 });
    expect(await sh(`pm install ${tmp('notes.apk')}`)).toMatchObject({
      stdout:
        'Failure [INSTALL_FAILED_VERSION_DOWNGRADE: Downgrade detected: Update version code 3 is older than current 4]\n',
      code: 1,
    });
    expect((await sh('dumpsys package com.example.notes')).stdout).toContain('versionCode=4 ');
    expect(await sh(`pm install -r -d ${tmp('notes.apk')}`)).toMatchObject({ stdout: 'Success\n', code: 0 });
    const dump = (await sh('dumpsys package com.example.notes')).stdout;
    expect(dump).toContain('versionCode=3 ');
    expect(dump).toContain('userId=10002');
    expect((await sh('ls /data/app | wc -l')).stdout.trim()).toBe('2');
    // pm install without --user installs for every user (INSTALL_ALL_USERS), with per-user uids
    expect(await stat('/data/user/10/com.example.notes')).toBe('1010002 1010002 700');
    expect(await stat('/data/user_de/10/com.example.notes/cache')).toBe('1010002 1020002 2771');
    expect((await sh('pm list packages -U --user 10 notes')).stdout).toBe('package:com.example.notes uid:1010002\n');
  });
});

describe('permissions, suspend, force-stop', () => {
  it('grants and revokes runtime permissions only, with Android exceptions', async () => {
    expect(await sh('pm grant --user 0 com.example.notes android.permission.CAMERA')).toEqual({
      stdout: '',
      stderr: '',
      code: 0,
    });
    // pm grant sets no flag of its own: the permission keeps the ones it had (USER_SENSITIVE_*)
    expect((await sh('dumpsys package com.example.notes')).stdout).toContain(
      '\n        android.permission.CAMERA: granted=true, flags=[ USER_SENSITIVE_WHEN_GRANTED|USER_SENSITIVE_WHEN_DENIED]\n',
    );
    const failures: [string, string][] = [
      [
        'com.example.notes android.permission.INTERNET',
        'java.lang.SecurityException: Permission android.permission.INTERNET requested by com.example.notes is not a changeable permission type',
      ],
      [
        'com.example.notes android.permission.SEND_SMS',
        'java.lang.SecurityException: Package com.example.notes has not requested permission android.permission.SEND_SMS',
      ],
      [
        'com.example.notes android.permission.NO_SUCH',
        'java.lang.IllegalArgumentException: Unknown permission: android.permission.NO_SUCH',
      ],
    ];
    for (const [args, message] of failures) {
      // BasicShellCommandHandler.exec prints an empty line first
      expect(await sh(`pm grant ${args}`)).toEqual({
        stdout: '',
        stderr: `\nException occurred while executing 'grant':\n${message}\n`,
        code: 255,
      });
    }
    // an unknown package is only logged (Log.e "Unknown package") on every release 10-14
    expect(await sh('pm grant com.nope android.permission.CAMERA')).toEqual({ stdout: '', stderr: '', code: 0 });
    expect((await sh('pm revoke com.example.notes android.permission.CAMERA')).code).toBe(0);
    expect((await sh('dumpsys package com.example.notes')).stdout).toMatch(
      /android\.permission\.CAMERA: granted=false/,
    );
    expect((await sh('pm grant com.example.notes android.permission.READ_CONTACTS')).code).toBe(0);
  });

  it('suspends and unsuspends', async () => {
    expect(await sh('pm suspend --user 0 com.example.notes')).toMatchObject({
      stdout: 'Package com.example.notes new suspended state: true\n',
      code: 0,
    });
    expect((await sh('dumpsys package com.example.notes')).stdout).toMatch(/User 0: .*suspended=true/);
    expect(await sh('pm unsuspend com.example.notes')).toMatchObject({
      stdout: 'Package com.example.notes new suspended state: false\n',
      code: 0,
    });
    expect(await sh('pm suspend com.nope')).toMatchObject({
      stdout: 'java.lang.IllegalArgumentException: Unknown target package: com.nope\n',
      code: 1,
    });
    expect(await sh('pm suspend com.example.notes')).toMatchObject({ code: 0 });
  });

  it('am force-stop is silent, unknown commands fail like ShellCommand', async () => {
    expect(await sh('am force-stop --user 0 com.example.notes; am force-stop com.nope')).toEqual({
      stdout: '',
      stderr: '',
      code: 0,
    });
    expect(await sh('pm frobnicate')).toEqual({ stdout: '', stderr: 'Unknown command: frobnicate\n', code: 255 });
    expect(await sh('pm path com.nope')).toEqual({ stdout: '', stderr: '', code: 1 });
    // getInstalledPackages answers an empty list for a user that does not exist
    expect(await sh('pm list packages --user 11')).toEqual({ stdout: '', stderr: '', code: 0 });
  });
});

describe('persistence and uninstall', () => {
  it('keeps packages, uids, grants and the suspended flag across restarts', async () => {
    const before = (await sh('pm list packages -U')).stdout;
    expect(before).toBe(
      'package:com.example.gallery uid:10001\npackage:com.example.launcher uid:10000\npackage:com.example.notes uid:10002\n',
    );
    const pathBefore = (await sh('pm path com.example.notes')).stdout;
    await restart();
    expect((await sh('pm list packages -U')).stdout).toBe(before);
    expect((await sh('pm path com.example.notes')).stdout).toBe(pathBefore);
    const dump = (await sh('dumpsys package com.example.notes')).stdout;
    expect(dump).toMatch(/suspended=true/);
    expect(dump).toMatch(/android\.permission\.READ_CONTACTS: granted=true/);
    expect((await sh('ls -l /data/user/0')).stdout).toMatch(/u0_a2 +u0_a2 .* com\.example\.notes/);
    expect((await sh('ls -l /data/user/10')).stdout).toMatch(/u10_a2 +u10_a2 .* com\.example\.notes/);
  });

  it('uninstall removes code and every data folder; uids are never reused', async () => {
    await sh(
      'mkdir -p /data/media/0/Android/data/com.example.gallery/files /data/media/0/Android/obb/com.example.gallery',
    );
    const codePath = (await sh('pm path com.example.gallery')).stdout
      .split('\n')[0]
      ?.replace(/^package:|\/base\.apk$/g, '');
    expect(await sh('pm uninstall com.example.gallery')).toMatchObject({ stdout: 'Success\n', code: 0 });
    for (const p of [
      codePath,
      '/data/user/0/com.example.gallery',
      '/data/user/10/com.example.gallery',
      '/data/user_de/0/com.example.gallery',
      '/data/media/0/Android/data/com.example.gallery',
      '/data/media/0/Android/obb/com.example.gallery',
    ]) {
      expect((await sh(`ls -d ${p}`)).code, p).not.toBe(0);
    }
    expect(await sh('pm uninstall com.example.gallery')).toMatchObject({
      stdout: 'Failure [DELETE_FAILED_INTERNAL_ERROR]\n',
      code: 1,
    });
    expect(await installSession(['gallery-base.apk', 'gallery-config.xxhdpi.apk'])).toMatchObject({ code: 0 });
    expect((await sh('pm list packages -U gallery')).stdout).toBe('package:com.example.gallery uid:10003\n');
  });

  it('uninstall -k --user 0 uninstalls for user 0 only, keeping its data; the work profile keeps the app', async () => {
    await sh('echo kept > /data/user/0/com.example.notes/note.txt');
    expect((await sh('pm uninstall -k --user 0 com.example.notes')).stdout).toBe('Success\n');
    expect((await sh('pm path com.example.notes')).code).toBe(1);
    expect((await sh('pm path --user 10 com.example.notes')).stdout).toMatch(/^package:\/data\/app\/.*\/base\.apk\n$/);
    expect((await sh('pm list packages -U notes')).stdout).toBe('');
    expect((await sh('pm list packages -u -U notes')).stdout).toBe('package:com.example.notes uid:10002\n');
    expect((await sh('pm uninstall --user 0 com.example.notes')).stdout).toBe('Failure [not installed for 0]\n');
    expect((await sh('cat /data/user/0/com.example.notes/note.txt')).stdout).toBe('kept\n');
    expect((await sh(`pm install ${tmp('notes.apk')}`)).stdout).toBe('Success\n');
    expect((await sh('pm list packages -U notes')).stdout).toBe('package:com.example.notes uid:10002\n');
    expect((await sh('cat /data/user/0/com.example.notes/note.txt')).stdout).toBe('kept\n');
  });

  it("uninstall -k for every user keeps everyone's data and the uid for a reinstall", async () => {
    expect((await sh('pm uninstall -k com.example.notes')).stdout).toBe('Success\n');
    expect((await sh('pm path --user 10 com.example.notes')).code).toBe(1);
    expect((await sh('ls /data/app')).stdout).not.toMatch(/notes/);
    expect((await sh('pm list packages -u -U --user 10 notes')).stdout).toBe('package:com.example.notes uid:1010002\n');
    expect((await sh('cat /data/user/0/com.example.notes/note.txt')).stdout).toBe('kept\n');
    expect((await sh(`pm install ${tmp('notes.apk')}`)).stdout).toBe('Success\n');
    expect((await sh('pm list packages -U notes')).stdout).toBe('package:com.example.notes uid:10002\n');
  });
});

describe('the package database', () => {
  it('refuses a version 1 file (one user, no shared users) with a clear message', async () => {
    const old = path.join(dir, 'old');
    await fsp.mkdir(path.join(old, 'data/system'), { recursive: true });
    await fsp.writeFile(
      path.join(old, 'data/system/packages.json'),
      JSON.stringify({ version: 1, nextAppId: 0, packages: [] }),
    );
    await expect(startPhoneAs(old, 12)).rejects.toThrow(
      /\/data\/system\/packages\.json is a version 1 package database; this emulator reads version 2/,
    );
  });
});
