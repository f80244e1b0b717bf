import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Phone } from '../src/emulator/android/phone.ts';
import type { AndroidRelease } from '../src/emulator/android/profile.ts';
import { shell } from '../src/emulator/android/testing.ts';
import { startPhoneAs } from '../src/emulator/android/testing-release.ts';

// A shared-UID pair (android:sharedUserId="com.example.shared"): one appId, one permission state.
// dumpsys prints `sharedUser=` in each member's block and their gids and runtime permissions
// only under `Shared users:` (Settings.dumpPackageLPr: `if (ps.sharedUser == null)` on 10-12,
// `if (!ps.hasSharedUser())` on 13-14), with the member list from 11 on and `appId=` on 14.

const FIXTURES = path.join(import.meta.dirname, '..', 'fixtures', 'apks');
const dirs: string[] = [];
const phones: Phone[] = [];

async function phoneAs(release: AndroidRelease): Promise<Phone> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), `phone-shared-${release}-`));
  dirs.push(dir);
  const phone = await startPhoneAs(path.join(dir, 'root'), release, { seedApps: true });
  phones.push(phone);
  await fsp.copyFile(
    path.join(FIXTURES, 'sync-plugin-other-key.apk'),
    path.join(phone.root, 'data/local/tmp/other.apk'),
  );
  return phone;
}

afterAll(async () => {
  for (const p of phones) await p.close();
  for (const d of dirs) await fsp.rm(d, { recursive: true, force: true });
});

describe.each([10, 11, 14] as const)('shared UID on Android %i', (release) => {
  it('gives both members one appId, uid and data owner', async () => {
    const phone = await phoneAs(release);
    const sh = (c: string) => shell(phone, c);
    expect((await sh('pm list packages -U sync')).stdout).toBe(
      'package:com.example.sync uid:10003\npackage:com.example.sync.plugin uid:10003\n',
    );
    expect(
      (await sh('stat -c "%u %g" /data/user/0/com.example.sync /data/user/0/com.example.sync.plugin')).stdout,
    ).toBe('10003 10003\n10003 10003\n');

    const dump = (await sh('dumpsys package com.example.sync')).stdout;
    const idKey = release >= 14 ? 'appId' : 'userId';
    const [packages, shared] = dump.split('\nShared users:\n') as [string, string];
    expect(packages).toMatch(
      new RegExp(
        `\\n {4}${idKey}=10003\\n {4}sharedUser=SharedUserSetting\\{[0-9a-f]+ com\\.example\\.shared/10003\\}\\n`,
      ),
    );
    // install permissions are printed in the block (dumpAll), runtime ones are not
    expect(packages).toContain('\n    install permissions:\n      android.permission.INTERNET: granted=true\n');
    expect(packages).not.toContain('runtime permissions:');
    expect(packages).not.toContain('gids=');
    expect(shared).toMatch(
      new RegExp(`^ {2}SharedUser \\[com\\.example\\.shared\\] \\([0-9a-f]+\\):\\n {4}${idKey}=10003\\n`),
    );
    if (release >= 11) {
      expect(shared).toMatch(
        /\n {4}Packages\n {6}PackageSetting\{[0-9a-f]+ com\.example\.sync\/10003\}\n {6}PackageSetting\{[0-9a-f]+ com\.example\.sync\.plugin\/10003\}\n/,
      );
    } else {
      expect(shared).not.toContain('Packages\n');
    }
    // "User 0: " with its trailing space, then the appId's gids and runtime permissions
    const flags =
      release === 10
        ? '[ USER_SET USER_SENSITIVE_WHEN_GRANTED USER_SENSITIVE_WHEN_DENIED ]'
        : '[ USER_SET|USER_SENSITIVE_WHEN_GRANTED|USER_SENSITIVE_WHEN_DENIED]';
    expect(shared).toContain(
      `\n    User 0: \n      gids=[3003]\n      runtime permissions:\n        android.permission.ACCESS_FINE_LOCATION: granted=false, flags=`,
    );
    expect(shared).toContain(`\n        android.permission.CAMERA: granted=true, flags=${flags}\n`);
  });

  it('refuses a member signed by another key', async () => {
    const phone = phones.at(-1) as Phone;
    const sh = (c: string) => shell(phone, c);
    expect((await sh('pm uninstall com.example.sync.plugin')).stdout).toBe('Success\n');
    expect((await sh('pm install /data/local/tmp/other.apk')).stdout).toBe(
      'Failure [INSTALL_FAILED_SHARED_USER_INCOMPATIBLE: Reconciliation failed...: Package com.example.sync.plugin has no signatures that match those in shared user com.example.shared; ignoring!]\n',
    );
    // the remaining member keeps the appId and the shared state
    expect((await sh('pm list packages -U sync')).stdout).toBe('package:com.example.sync uid:10003\n');
    expect((await sh('dumpsys package com.example.sync')).stdout).toContain('android.permission.CAMERA: granted=true');
  });
});
