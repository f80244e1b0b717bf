import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Phone, startPhone } from '../src/emulator/android/phone.ts';
import { RELEASES } from '../src/emulator/android/profile.ts';
import { shell } from '../src/emulator/android/testing.ts';

// `emulator --android 10…14`: the release of a phone folder, its build.prop, and that a folder
// stays the release it was set up as.

const run = promisify(execFile);
let dir: string;
const phones = new Map<number, Phone>();

beforeAll(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'releases-test-'));
  for (const release of RELEASES)
    phones.set(release, await startPhone(path.join(dir, `a${release}`), { android: release }));
}, 60_000);
afterAll(async () => {
  for (const phone of phones.values()) await phone.close();
  await fsp.rm(dir, { recursive: true, force: true });
});

const SDK = { 10: '29', 11: '30', 12: '31', 13: '33', 14: '34' };

describe('build.prop per release', () => {
  it.each(RELEASES)('Android %i answers getprop with its release, SDK and a build of that release', async (release) => {
    const phone = phones.get(release) as Phone;
    expect(phone.profile.release).toBe(release);
    const r = await shell(
      phone,
      'getprop ro.build.version.release; getprop ro.build.version.sdk; getprop ro.build.id; getprop ro.build.fingerprint',
    );
    const [rel, sdk, id, fingerprint] = r.stdout.trim().split('\n');
    expect([rel, sdk]).toEqual([String(release), SDK[release]]);
    expect(id).toMatch(/^[QRSTU][A-Z]\d[A-Z]\.\d{6}\.\d{3}$/);
    expect(id?.[0]).toBe({ 10: 'Q', 11: 'R', 12: 'S', 13: 'T', 14: 'U' }[release]);
    expect(fingerprint).toMatch(
      new RegExp(`^cloudphone/[^/]+/[^:]+:${release}/${id?.replace('.', '\\.')}/[^:]+:userdebug/test-keys$`),
    );
  });

  it('is Android 14 when no release is asked for', async () => {
    const phone = await startPhone(path.join(dir, 'default'));
    try {
      expect(phone.props['ro.build.version.release']).toBe('14');
    } finally {
      await phone.close();
    }
  });
});

describe('a phone folder keeps its release', () => {
  it('starts again as its own release, with or without --android, and refuses another one', async () => {
    const root = path.join(dir, 'keep');
    await (await startPhone(root, { android: 11 })).close();
    const again = await startPhone(root);
    expect(again.profile.release).toBe(11);
    await again.close();
    await (await startPhone(root, { android: 11 })).close();
    await expect(startPhone(root, { android: 13 })).rejects.toThrow(
      `the phone folder ${await fsp.realpath(root)} was set up as Android 11 (its /system/build.prop says so) and cannot start as Android 13: use --android 11, or another --root for a new Android 13 phone`,
    );
  });

  it('refuses a build.prop of a release the emulator does not emulate', async () => {
    const root = path.join(dir, 'nine');
    await fsp.mkdir(path.join(root, 'system'), { recursive: true });
    await fsp.writeFile(path.join(root, 'system/build.prop'), 'ro.build.version.release=9\n');
    await expect(startPhone(root)).rejects.toThrow(/is Android "9" .* which the emulator does not emulate/);
  });

  it('the CLI takes --android 10-14 and refuses other values before starting anything', async () => {
    const cli = path.join(import.meta.dirname, '../src/cli/main.ts');
    const tsx = path.join(import.meta.dirname, '../node_modules/.bin/tsx');
    const root = path.join(dir, 'cli');
    const err = await run(tsx, [cli, 'emulator', '--android', '9', '--port', '0', '--root', root]).catch((e) => e);
    expect(err.code).toBe(1);
    expect(err.stderr).toContain(
      "error: option '--android <release>' argument '9' is invalid. unsupported Android release \"9\": expected one of 10, 11, 12, 13, 14",
    );
    await expect(fsp.stat(root)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
