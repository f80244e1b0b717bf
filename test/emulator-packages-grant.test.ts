import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packageServiceOf } from '../src/emulator/android/package-service.ts';
import { FLAG, NEW_RUNTIME_FLAGS } from '../src/emulator/android/permissions.ts';
import type { Phone } from '../src/emulator/android/phone.ts';
import type { AndroidRelease } from '../src/emulator/android/profile.ts';
import { shell } from '../src/emulator/android/testing.ts';
import { startPhoneAs } from '../src/emulator/android/testing-release.ts';

// pm grant / revoke in the order of PermissionManagerService's checks. On every release 10-14 a
// grant of a SYSTEM_FIXED or POLICY_FIXED permission is only logged (Log.e "Cannot grant system
// fixed permission …") and the command exits 0 with the permission unchanged; revoking one throws.

const dirs: string[] = [];
const phones: Phone[] = [];
afterAll(async () => {
  for (const p of phones) await p.close();
  for (const d of dirs) await fsp.rm(d, { recursive: true, force: true });
});

const silent = { stdout: '', stderr: '', code: 0 };
const thrown = (command: string, text: string) => ({
  stdout: '',
  stderr: `\nException occurred while executing '${command}':\n${text}\n`,
  code: 255,
});

describe.each([10, 11, 12, 14] as const)('Android %i', (release: AndroidRelease) => {
  it('leaves fixed permissions as they are: a grant is silent, a revoke throws', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), `phone-grant-${release}-`));
    dirs.push(dir);
    const phone = await startPhoneAs(path.join(dir, 'root'), release, { seedApps: true });
    phones.push(phone);
    const sh = (c: string) => shell(phone, c);
    const state = async (pkg: string, perm: string) =>
      new RegExp(`${perm.replaceAll('.', '\\.')}: granted=(\\w+)`).exec(
        (await sh(`dumpsys package ${pkg}`)).stdout,
      )?.[1];

    const FINE = 'android.permission.ACCESS_FINE_LOCATION';
    expect(await sh(`pm grant com.example.launcher ${FINE}`)).toEqual(silent);
    expect(await sh(`pm revoke com.example.launcher ${FINE}`)).toEqual(
      thrown(
        'revoke',
        `java.lang.SecurityException: Non-System UID cannot revoke system fixed permission ${FINE} for package com.example.launcher`,
      ),
    );
    expect(await state('com.example.launcher', FINE)).toBe('true');

    const CAMERA = 'android.permission.CAMERA';
    await packageServiceOf(phone).setPermissionState('com.example.notes', 0, CAMERA, {
      granted: false,
      flags: FLAG.POLICY_FIXED | NEW_RUNTIME_FLAGS,
    });
    expect(await sh(`pm grant --user 0 com.example.notes ${CAMERA}`)).toEqual(silent);
    expect(await state('com.example.notes', CAMERA)).toBe('false');
    expect(await sh(`pm revoke com.example.notes ${CAMERA}`)).toEqual(
      thrown(
        'revoke',
        `java.lang.SecurityException: Cannot revoke policy fixed permission ${CAMERA} for package com.example.notes`,
      ),
    );
  });

  it('grants an already granted permission silently', async () => {
    const sh = (c: string) => shell(phones.at(-1) as Phone, c);
    expect(await sh('pm grant com.example.notes android.permission.READ_CONTACTS')).toEqual(silent);
    expect(await sh('pm grant com.example.notes android.permission.READ_CONTACTS')).toEqual(silent);
  });

  it('checks "requested" and "changeable" in the release\'s order', async () => {
    const sh = (c: string) => shell(phones.at(-1) as Phone, c);
    const WAKE_LOCK = 'android.permission.WAKE_LOCK';
    const notRequested = `java.lang.SecurityException: Package com.example.notes has not requested permission ${WAKE_LOCK}`;
    const notChangeable = `java.lang.SecurityException: Permission ${WAKE_LOCK} requested by com.example.notes is not a changeable permission type`;
    expect(await sh(`pm grant com.example.notes ${WAKE_LOCK}`)).toEqual(
      thrown('grant', release >= 12 ? notChangeable : notRequested),
    );
  });

  it("lets a shared-UID member grant its sibling's permission on 11+", async () => {
    const sh = (c: string) => shell(phones.at(-1) as Phone, c);
    const r = await sh('pm grant --user 10 com.example.sync.plugin android.permission.CAMERA');
    if (release === 10) {
      expect(r).toEqual(
        thrown(
          'grant',
          'java.lang.SecurityException: Package com.example.sync.plugin has not requested permission android.permission.CAMERA',
        ),
      );
    } else {
      expect(r).toEqual(silent);
      const shared = (await sh('dumpsys package com.example.sync')).stdout.split('\nShared users:\n')[1] as string;
      expect(shared.slice(shared.indexOf('User 10:'))).toMatch(/android\.permission\.CAMERA: granted=true/);
    }
  });
});
