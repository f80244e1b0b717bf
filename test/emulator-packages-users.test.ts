import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Phone } from '../src/emulator/android/phone.ts';
import { shell } from '../src/emulator/android/testing.ts';
import { startPhoneAs } from '../src/emulator/android/testing-release.ts';

// Users 0 and 10 (a work profile) on every emulated phone: per-user install and uninstall, uids
// and cache gids per user, and how each pm command treats a user that does not exist.

const FIXTURES = path.join(import.meta.dirname, '..', 'fixtures', 'apks');
let dir: string;
let phone: Phone;
const sh = (command: string) => shell(phone, command);
const stat = async (p: string) => (await sh(`stat -c "%u %g %a" ${p}`)).stdout.trim();

beforeAll(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'phone-users-'));
  phone = await startPhoneAs(path.join(dir, 'root'), 13);
  for (const apk of ['notes.apk', 'gallery-base.apk', 'gallery-config.xxhdpi.apk']) {
    await fsp.copyFile(path.join(FIXTURES, apk), path.join(phone.root, 'data/local/tmp', apk));
  }
});
afterAll(async () => {
  await phone?.close();
  await fsp.rm(dir, { recursive: true, force: true });
});

describe('users', () => {
  it('pm list users prints both users as UserManagerService does', async () => {
    expect(await sh('pm list users')).toEqual({
      stdout: 'Users:\n\tUserInfo{0:Owner:c13} running\n\tUserInfo{10:Work profile:1030} running\n',
      stderr: '',
      code: 0,
    });
  });

  it("installs for one user with --user, with that user's uid, cache gid and account names", async () => {
    expect((await sh('pm install --user 10 /data/local/tmp/notes.apk')).stdout).toBe('Success\n');
    expect((await sh('pm list packages -U --user 10 notes')).stdout).toBe('package:com.example.notes uid:1010001\n');
    expect((await sh('pm list packages notes')).stdout).toBe('');
    expect((await sh('pm path com.example.notes')).code).toBe(1);
    expect((await sh('pm path --user 10 com.example.notes')).stdout).toMatch(
      /^package:\/data\/app\/~~.*\/base\.apk\n$/,
    );
    expect(await stat('/data/user/10/com.example.notes')).toBe('1010001 1010001 700');
    expect(await stat('/data/user/10/com.example.notes/cache')).toBe('1010001 1020001 2771');
    expect((await sh('ls -d /data/user/0/com.example.notes')).code).not.toBe(0);
    expect((await sh('ls -l /data/user/10')).stdout).toMatch(/u10_a1 +u10_a1 .* com\.example\.notes/);
    expect((await sh('ls -ld /data/user/10/com.example.notes/cache')).stdout).toMatch(/u10_a1 +u10_a1_cache /);
    const dump = (await sh('dumpsys package com.example.notes')).stdout;
    expect(dump).toMatch(/\n {4}User 0: ceDataInode=0 installed=false .*\n/);
    expect(dump).toMatch(/\n {4}User 10: ceDataInode=[1-9]\d* installed=true .*stopped=true notLaunched=true/);
  });

  it('install-existing adds the package for another user', async () => {
    expect(await sh('pm install-existing --user 0 com.example.notes')).toMatchObject({
      stdout: 'Package com.example.notes installed for user: 0\n',
      code: 0,
    });
    expect(await stat('/data/user/0/com.example.notes')).toBe('10001 10001 700');
    expect((await sh('pm install-existing com.nope')).stdout).toBe(
      "android.content.pm.PackageManager$NameNotFoundException: Package com.nope doesn't exist\n",
    );
  });

  it("uninstall --user 10 removes only that user's copy and data; without --user it goes for everyone", async () => {
    await sh('echo mine > /data/user/0/com.example.notes/keep.txt; echo work > /data/user/10/com.example.notes/w.txt');
    expect((await sh('pm uninstall --user 10 com.example.notes')).stdout).toBe('Success\n');
    expect((await sh('ls -d /data/user/10/com.example.notes /data/user_de/10/com.example.notes')).code).not.toBe(0);
    expect((await sh('cat /data/user/0/com.example.notes/keep.txt')).stdout).toBe('mine\n');
    expect((await sh('pm list packages --user 10 notes')).stdout).toBe('');
    expect((await sh('pm list packages -U notes')).stdout).toBe('package:com.example.notes uid:10001\n');
    expect((await sh('pm uninstall com.example.notes')).stdout).toBe('Success\n');
    expect((await sh('ls -d /data/user/0/com.example.notes')).code).not.toBe(0);
    expect((await sh('pm list packages -u notes')).stdout).toBe('');
  });

  it('pm install without --user installs for every user (INSTALL_ALL_USERS)', async () => {
    expect((await sh('pm install /data/local/tmp/notes.apk')).stdout).toBe('Success\n');
    expect((await sh('pm list packages -U --user 0 notes; pm list packages -U --user 10 notes')).stdout).toBe(
      'package:com.example.notes uid:10002\npackage:com.example.notes uid:1010002\n',
    );
  });

  it('records the -i installer even when it is not installed; pm list -i shows null for it', async () => {
    const created = await sh('pm install-create -i com.android.vending -S 1');
    const id = /\[(\d+)\]/.exec(created.stdout)?.[1];
    await sh(`pm install-write ${id} base.apk /data/local/tmp/gallery-base.apk`);
    await sh(`pm install-write ${id} split.apk /data/local/tmp/gallery-config.xxhdpi.apk`);
    expect((await sh(`pm install-commit ${id}`)).stdout).toBe('Success\n');
    expect((await sh('dumpsys package com.example.gallery')).stdout).toContain(
      '\n    installerPackageName=com.android.vending\n',
    );
    expect((await sh('pm list packages -i gallery')).stdout).toBe('package:com.example.gallery  installer=null\n');
    expect((await sh('pm install -r -i com.example.launcher /data/local/tmp/notes.apk')).stdout).toBe('Success\n');
    expect((await sh('pm list packages -i notes')).stdout).toBe(
      'package:com.example.notes  installer=com.example.launcher\n',
    );
  });

  it('answers for a user that does not exist as each real command does', async () => {
    expect(await sh('pm path --user 11 com.example.notes')).toEqual({ stdout: '', stderr: '', code: 1 });
    expect(await sh('pm list packages --user 11')).toEqual({ stdout: '', stderr: '', code: 0 });
    expect(await sh('pm uninstall --user 11 com.example.notes')).toMatchObject({
      stdout: 'Failure [not installed for 11]\n',
      code: 1,
    });
    expect(await sh('pm grant --user 11 com.example.notes android.permission.CAMERA')).toEqual({
      stdout: '',
      stderr: '',
      code: 0,
    });
    expect(await sh('am force-stop --user 11 com.example.notes')).toEqual({ stdout: '', stderr: '', code: 0 });
    expect(await sh('pm path --user abc com.example.notes')).toEqual({
      stdout: '',
      stderr:
        "\nException occurred while executing 'path':\njava.lang.IllegalArgumentException: Bad user number: abc\n",
      code: 255,
    });
    expect(await sh('pm list packages --user abc')).toEqual({
      stdout: 'Error: java.lang.IllegalArgumentException: Bad user number: abc\n',
      stderr: '',
      code: 255,
    });
    // --user all is refused where translateUserId gets USER_NULL as the "all" user
    expect((await sh('pm path --user all com.example.notes')).stderr).toContain(
      'Call does not support special user #-1',
    );
  });

  it('am force-stop stops the package for one user, or every user without --user', async () => {
    const stopped = async () =>
      [...(await sh('dumpsys package com.example.launcher')).stdout.matchAll(/User (\d+): .* stopped=(\w+)/g)].map(
        (m) => `${m[1]}:${m[2]}`,
      );
    // a scanned system app starts not stopped
    expect(await stopped()).toEqual(['0:false', '10:false']);
    expect(await sh('am force-stop --user 10 com.example.launcher')).toEqual({ stdout: '', stderr: '', code: 0 });
    expect(await stopped()).toEqual(['0:false', '10:true']);
    await sh('am force-stop com.example.launcher');
    expect(await stopped()).toEqual(['0:true', '10:true']);
  });
});
