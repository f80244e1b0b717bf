import { promises as fsp, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packageServiceOf } from '../src/emulator/android/package-service.ts';
import type { Phone } from '../src/emulator/android/phone.ts';
import { RELEASES } from '../src/emulator/android/profile.ts';
import { shell } from '../src/emulator/android/testing.ts';
import { startPhoneAs } from '../src/emulator/android/testing-release.ts';

// `dumpsys package` of each release has the layout of the samples in test/fixtures/android/ (built
// from each release's Settings.java, docs/android-differences.md): the same lines in the same
// order at the same indent, and the same fields on every User line. Values differ (hashes, paths,
// times, which permissions an app asks for), so lines are compared by their key: the text before
// `=` or `:`, with runs of permission lines and of shared-user members taken as one.

const FIXTURES = path.join(import.meta.dirname, 'fixtures', 'android');
const APKS = path.join(import.meta.dirname, '..', 'fixtures', 'apks');

function layout(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const indent = ' '.repeat(line.length - line.trimStart().length);
    const t = line.trim();
    let key: string;
    if (t === '') key = '';
    else if (/^[a-z][\w]*(\.[\w]+)+(: granted=.*)?$/.test(t)) key = '<permission>';
    else if (/^PackageSetting\{/.test(t)) key = '<member>';
    else if (/^(Package|SharedUser) \[/.test(t)) key = t.slice(0, t.indexOf(' ['));
    else if (/^User \d+: \S/.test(t)) key = `User: ${[...t.matchAll(/ (\w+)=/g)].map((m) => m[1]).join(' ')}`;
    else if (/^User \d+: $/.test(line.trimStart())) key = 'User: ';
    else key = (/^[^=:]+/.exec(t)?.[0] ?? t).trim();
    const entry = indent + key;
    if ((key === '<permission>' || key === '<member>') && out.at(-1) === entry) continue;
    out.push(entry);
  }
  return out;
}

const fixture = (name: string) => layout(readFileSync(path.join(FIXTURES, name), 'utf8').trimEnd());
const dirs: string[] = [];
const phones: Phone[] = [];
afterAll(async () => {
  for (const p of phones) await p.close();
  for (const d of dirs) await fsp.rm(d, { recursive: true, force: true });
});

describe.each([...RELEASES])('Android %i', (release) => {
  it('prints an install permission whose state differs for user 10 on its own line (12+)', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), `phone-install-perm-${release}-`));
    dirs.push(dir);
    const phone = await startPhoneAs(path.join(dir, 'root'), release);
    phones.push(phone);
    await fsp.copyFile(path.join(APKS, 'notes.apk'), path.join(phone.root, 'data/local/tmp/notes.apk'));
    expect((await shell(phone, 'pm install /data/local/tmp/notes.apk')).stdout).toBe('Success\n');
    const INTERNET = 'android.permission.INTERNET';
    await packageServiceOf(phone).setPermissionState('com.example.notes', 10, INTERNET, { granted: false, flags: 0 });
    const dump = (await shell(phone, 'dumpsys package com.example.notes')).stdout;
    const lines = `\n    install permissions:\n      ${INTERNET}: granted=true\n`;
    expect(dump).toContain(
      release >= 12 ? `${lines}      ${INTERNET}: granted=false, userId=10\n    User 0:` : `${lines}    User 0:`,
    );
  });

  it('prints a package, a shared-UID member and an updated system app as the fixtures show', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), `phone-dumpsys-${release}-`));
    dirs.push(dir);
    const phone = await startPhoneAs(path.join(dir, 'root'), release, { seedApps: true });
    phones.push(phone);
    const sh = async (c: string) => (await shell(phone, c)).stdout;
    for (const apk of ['notes.apk', 'sync.apk', 'launcher-v2.apk']) {
      await fsp.copyFile(path.join(APKS, apk), path.join(phone.root, 'data/local/tmp', apk));
    }
    // the fixtures' app: installed by the Play Store, suspended for user 0 by Digital Wellbeing
    expect(await sh('pm install -r -i com.android.vending /data/local/tmp/notes.apk')).toBe('Success\n');
    await packageServiceOf(phone).suspendAs('com.example.notes', 0, 'com.google.android.apps.wellbeing');
    expect(layout((await sh('dumpsys package com.example.notes')).trimEnd())).toEqual(
      fixture(`dumpsys-package-${release}.txt`),
    );

    expect(await sh('pm install -r -i com.android.vending /data/local/tmp/sync.apk')).toBe('Success\n');
    expect(layout((await sh('dumpsys package com.example.sync')).trimEnd())).toEqual(
      fixture(`dumpsys-shared-${release}.txt`),
    );

    expect(await sh('pm install -r -i com.android.vending /data/local/tmp/launcher-v2.apk')).toBe('Success\n');
    expect(layout((await sh('dumpsys package com.example.launcher')).trimEnd())).toEqual(
      fixture(`dumpsys-system-${release}.txt`),
    );
  });
});
