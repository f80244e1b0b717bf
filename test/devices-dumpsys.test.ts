import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDumpsysPackage } from '../src/devices/dumpsys-package.ts';

// `dumpsys package` as Android 10-14 print it, from each release's Settings.java
// (test/fixtures/android/, sources in docs/android-differences.md): a package installed for users
// 0 and 10, suspended for user 0 by another party, with a SYSTEM_FIXED grant, per-user install
// permission lines (12+), a shared-uid package and an updated system app.

const RELEASES = [10, 11, 12, 13, 14];
const fixture = (name: string) => readFileSync(join(import.meta.dirname, 'fixtures/android', name), 'utf8');

describe.each(RELEASES)('dumpsys package on Android %i', (release) => {
  it('reads the app id from its own line, never from a secondary user’s install-permission line', () => {
    const d = parseDumpsysPackage(fixture(`dumpsys-package-${release}.txt`), 'com.example.notes');
    expect(d).toMatchObject({ appId: 10234, versionCode: 42, versionName: '3.1.0', installer: 'com.android.vending' });
    expect(d?.system).toBe(false);
    expect(d?.sharedUser).toBeNull();
  });

  it('reads user 0’s runtime grants past the suspension block, and who suspended it', () => {
    const d = parseDumpsysPackage(fixture(`dumpsys-package-${release}.txt`), 'com.example.notes');
    const user0 = d?.user(0);
    expect(user0).toMatchObject({ installed: true, suspended: true });
    expect(user0?.suspendedBy).toEqual(['com.google.android.apps.wellbeing']);
    const granted = user0?.runtimePermissions.filter((p) => p.granted).map((p) => p.name);
    expect(granted?.sort()).toEqual(['android.permission.ACCESS_FINE_LOCATION', 'android.permission.CAMERA']);
    const location = user0?.runtimePermissions.find((p) => p.name === 'android.permission.ACCESS_FINE_LOCATION');
    expect(location?.flags).toContain('SYSTEM_FIXED');
    expect(user0?.runtimePermissions.find((p) => p.name === 'android.permission.CAMERA')?.flags).toContain('USER_SET');
    // user 10's state is its own
    const user10 = d?.user(10);
    expect(user10?.suspended).toBe(false);
    expect(user10?.runtimePermissions.find((p) => p.name === 'android.permission.CAMERA')?.granted).toBe(false);
    expect(d?.user(11)).toBeNull();
  });

  it('takes a shared-uid package’s grants from its Shared users block', () => {
    const d = parseDumpsysPackage(fixture(`dumpsys-shared-${release}.txt`), 'com.example.sync');
    expect(d?.sharedUser).toBe('com.example.shared');
    expect(d?.appId).toBe(10235);
    const granted = d
      ?.user(0)
      ?.runtimePermissions.filter((p) => p.granted)
      .map((p) => p.name);
    expect(granted?.sort()).toEqual(['android.permission.ACCESS_FINE_LOCATION', 'android.permission.CAMERA']);
  });

  it('recognises an updated system app by its flags, reading the /data copy first', () => {
    const d = parseDumpsysPackage(fixture(`dumpsys-system-${release}.txt`), 'com.android.chrome');
    expect(d?.system).toBe(true);
    expect(d?.versionCode).toBe(582405633);
  });
});

describe('dumpsys package, the lines that misled the old parser', () => {
  it('gives no app id rather than a user id when the id line is missing', () => {
    const text = fixture('dumpsys-package-14.txt').replace(/^ {4}appId=\d+\n/m, '');
    expect(parseDumpsysPackage(text, 'com.example.notes')).toBeNull();
  });

  it('does not read another package’s block', () => {
    expect(parseDumpsysPackage(fixture('dumpsys-package-14.txt'), 'com.example.other')).toBeNull();
  });
});
