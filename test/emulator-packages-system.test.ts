import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Phone } from '../src/emulator/android/phone.ts';
import { shell } from '../src/emulator/android/testing.ts';
import { startPhoneAs } from '../src/emulator/android/testing-release.ts';

// The system image's app, com.example.launcher in /system/app/Launcher/Launcher.apk: scanned at
// boot, installed for every user, updatable through /data/app (the /system copy then shows under
// "Hidden system packages:"), not removable for all users unless updated, hidden per user by
// `pm uninstall --user N`, and refused for suspension as the active launcher.

const FIXTURES = path.join(import.meta.dirname, '..', 'fixtures', 'apks');
const LAUNCHER = 'com.example.launcher';
let dir: string;
let phone: Phone;
const sh = (command: string) => shell(phone, command);

beforeAll(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'phone-system-'));
  phone = await startPhoneAs(path.join(dir, 'root'), 11);
  for (const apk of ['launcher.apk', 'launcher-v2.apk', 'notes-other-key.apk']) {
    await fsp.copyFile(path.join(FIXTURES, apk), path.join(phone.root, 'data/local/tmp', apk));
  }
});
afterAll(async () => {
  await phone?.close();
  await fsp.rm(dir, { recursive: true, force: true });
});

describe('a system app', () => {
  it('lives read-only in /system/app and is listed by -s, not -3', async () => {
    expect((await sh(`pm path ${LAUNCHER}`)).stdout).toBe('package:/system/app/Launcher/Launcher.apk\n');
    expect((await sh('pm list packages -s')).stdout).toBe(`package:${LAUNCHER}\n`);
    expect((await sh('pm list packages -3')).stdout).toBe('');
    expect((await sh('pm list packages -f -s')).stdout).toBe(`package:/system/app/Launcher/Launcher.apk=${LAUNCHER}\n`);
    const write = await sh('touch /system/app/Launcher/x');
    expect(write.code).not.toBe(0);
    expect(write.stderr).toMatch(/Read-only file system/);
    const dump = (await sh(`dumpsys package ${LAUNCHER}`)).stdout;
    expect(dump).toContain('\n    codePath=/system/app/Launcher\n');
    expect(dump).toContain('\n    flags=[ SYSTEM ALLOW_CLEAR_USER_DATA ALLOW_BACKUP ]\n');
    expect(dump).not.toContain('Hidden system packages:');
    // DefaultPermissionGrantPolicy's grant for a system package: SYSTEM_FIXED|GRANTED_BY_DEFAULT
    expect(dump).toContain(
      '\n        android.permission.ACCESS_FINE_LOCATION: granted=true, flags=[ SYSTEM_FIXED|GRANTED_BY_DEFAULT]\n',
    );
  });

  it('cannot be uninstalled for all users while it is not updated', async () => {
    expect(await sh(`pm uninstall ${LAUNCHER}`)).toMatchObject({
      stdout: 'Failure [DELETE_FAILED_INTERNAL_ERROR]\n',
      code: 1,
    });
    expect((await sh(`pm path ${LAUNCHER}`)).code).toBe(0);
  });

  it('is refused for suspension as the active launcher: state false, exit 0', async () => {
    expect(await sh(`pm suspend --user 0 ${LAUNCHER}`)).toEqual({
      stdout: `Package ${LAUNCHER} new suspended state: false\n`,
      stderr: '',
      code: 0,
    });
  });

  it('takes an update of the same signer into /data/app, keeping the /system copy as a hidden package', async () => {
    await sh(`echo state > /data/user/0/${LAUNCHER}/state.txt`);
    expect(await sh('pm install /data/local/tmp/notes-other-key.apk')).toMatchObject({ stdout: 'Success\n' });
    expect((await sh('pm install -r /data/local/tmp/launcher-v2.apk')).stdout).toBe('Success\n');
    const paths = (await sh(`pm path ${LAUNCHER}`)).stdout;
    expect(paths).toMatch(/^package:\/data\/app\/~~[\w-]+==\/com\.example\.launcher-[\w-]+==\/base\.apk\n$/);
    expect((await sh('pm list packages -s')).stdout).toBe(`package:${LAUNCHER}\n`);
    const dump = (await sh(`dumpsys package ${LAUNCHER}`)).stdout;
    const [packages, hidden] = dump.split('\nHidden system packages:\n');
    expect(packages).toContain('\n    codePath=/data/app/~~');
    expect(packages).toContain('\n    versionCode=2 minSdk=24 targetSdk=29\n');
    expect(packages).toContain('\n    flags=[ SYSTEM ALLOW_CLEAR_USER_DATA UPDATED_SYSTEM_APP ALLOW_BACKUP ]\n');
    expect(hidden).toMatch(/^ {2}Package \[com\.example\.launcher\] \([0-9a-f]+\):\n {4}userId=10000\n/);
    expect(hidden).toContain('\n    codePath=/system/app/Launcher\n');
    expect(hidden).toContain('\n    versionCode=1 minSdk=24 targetSdk=29\n');
    expect(hidden).toContain('\n    flags=[ SYSTEM ALLOW_CLEAR_USER_DATA ALLOW_BACKUP ]\n');
    expect((await sh(`cat /data/user/0/${LAUNCHER}/state.txt`)).stdout).toBe('state\n');
  });

  it('refuses an update from another signer', async () => {
    await fsp.copyFile(path.join(FIXTURES, 'notes.apk'), path.join(phone.root, 'data/local/tmp/notes.apk'));
    const r = await sh('pm install -r /data/local/tmp/notes.apk');
    expect(r.stdout).toMatch(
      /^Failure \[INSTALL_FAILED_UPDATE_INCOMPATIBLE: Package com\.example\.notes signatures do not match/,
    );
  });

  it('uninstalling the update reverts to the /system copy (the update was newer, so its data goes)', async () => {
    expect((await sh(`pm uninstall ${LAUNCHER}`)).stdout).toBe('Success\n');
    expect((await sh(`pm path ${LAUNCHER}`)).stdout).toBe('package:/system/app/Launcher/Launcher.apk\n');
    expect((await sh('ls /data/app')).stdout).not.toMatch(/launcher/);
    const dump = (await sh(`dumpsys package ${LAUNCHER}`)).stdout;
    expect(dump).not.toContain('Hidden system packages:');
    expect(dump).toContain('\n    versionCode=1 minSdk=24 targetSdk=29\n');
    expect((await sh(`ls /data/user/0/${LAUNCHER}`)).stdout).toBe('cache\ncode_cache\n');
  });

  it('uninstall --user 0 hides it for user 0 only (data of user 0 removed); install-existing brings it back', async () => {
    await sh(`echo work > /data/user/10/${LAUNCHER}/w.txt`);
    expect((await sh(`pm uninstall --user 0 ${LAUNCHER}`)).stdout).toBe('Success\n');
    expect((await sh(`pm path ${LAUNCHER}`)).code).toBe(1);
    expect((await sh(`pm path --user 10 ${LAUNCHER}`)).stdout).toBe('package:/system/app/Launcher/Launcher.apk\n');
    expect((await sh(`ls -d /data/user/0/${LAUNCHER}`)).code).not.toBe(0);
    expect((await sh(`cat /data/user/10/${LAUNCHER}/w.txt`)).stdout).toBe('work\n');
    expect((await sh(`dumpsys package ${LAUNCHER}`)).stdout).toMatch(/User 0: ceDataInode=0 installed=false /);
    // with user 0's launcher gone, HOME no longer resolves to it there
    expect((await sh(`pm suspend --user 0 ${LAUNCHER}`)).stdout).toBe(
      `Package ${LAUNCHER} new suspended state: true\n`,
    );
    expect((await sh(`pm install-existing --user 0 ${LAUNCHER}`)).stdout).toBe(
      `Package ${LAUNCHER} installed for user: 0\n`,
    );
    expect((await sh(`pm path ${LAUNCHER}`)).stdout).toBe('package:/system/app/Launcher/Launcher.apk\n');
  });
});
