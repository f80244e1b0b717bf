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

const sh = (release: number, command: string) => shell(phones.get(release) as Phone, command);

describe('per-release layout', () => {
  it('Android 10: /data/user/0 is a link to /data/data', async () => {
    const r = await sh(10, 'readlink /data/user/0; stat -c "%F %u %g %a" /data/data; ls -dZ /data/user/0');
    expect(r.stdout).toBe('/data/data\ndirectory 1000 1000 771\nu:object_r:system_data_file:s0 /data/user/0\n');
  });

  it.each([11, 12, 13, 14])('Android %i: /data/user/0 is a mount of /data/data, the same folder', async (release) => {
    const r = await sh(
      release,
      [
        'readlink /data/user/0; echo link=$?',
        'stat -c "%F %u %g %a %i" /data/data /data/user/0 | uniq | wc -l',
        'stat -c "%F %u %g %a" /data/user/0',
        'echo x > /data/data/f && cat /data/user/0/f && rm /data/user/0/f',
        'grep -c " /data/user/0 " /proc/self/mountinfo',
      ].join('; '),
    );
    expect(r.stdout).toBe('link=1\n1\ndirectory 1000 1000 771\nx\n1\n');
    const phone = phones.get(release) as Phone;
    // the system server sees the same tree under both names
    await fsp.mkdir(path.join(phone.root, 'data/user/0/com.x'), { recursive: true });
    expect(await phone.labels.get('/data/data/com.x')).toBe(await phone.labels.get('/data/user/0/com.x'));
    expect((await shell(phone, 'ls -dZ /data/data/com.x /data/user/0/com.x')).stdout).toBe(
      'u:object_r:system_data_file:s0 /data/data/com.x\nu:object_r:system_data_file:s0 /data/user/0/com.x\n',
    );
  });

  it.each(RELEASES)(
    'Android %i: users 0 and 10, and external storage as vold or sdcardfs leaves it',
    async (release) => {
      const paths = [0, 10].flatMap((u) => [
        `/data/user/${u}`,
        `/data/user_de/${u}`,
        `/data/media/${u}`,
        `/data/media/${u}/Android`,
        `/data/media/${u}/Android/data`,
        `/data/media/${u}/Android/obb`,
      ]);
      const r = await sh(
        release,
        `stat -c "%n %u %g %a" ${paths.join(' ')} /data/media/obb; ls -d /data/media/*/Android/media`,
      );
      const media = release >= 12 ? '2770' : '770';
      const [android, data, obb] =
        release >= 11 ? ['1023 1023 2771', '1023 1078 2771', '1023 1079 2771'] : Array(3).fill('1023 1023 775');
      const expected = [0, 10].flatMap((u) => [
        // Android 10's init.rc makes /data/user/0 a link (`symlink /data/data /data/user/0`), which
        // stat shows as itself: root's, mode 777
        release === 10 && u === 0 ? '/data/user/0 0 0 777' : `/data/user/${u} 1000 1000 771`,
        `/data/user_de/${u} 1000 1000 771`,
        `/data/media/${u} 1023 1023 ${media}`,
        `/data/media/${u}/Android ${android}`,
        `/data/media/${u}/Android/data ${data}`,
        `/data/media/${u}/Android/obb ${obb}`,
      ]);
      expected.push('/data/media/obb 1023 1023 770');
      if (release >= 11) expected.push('/data/media/0/Android/media', '/data/media/10/Android/media');
      expect(r.stdout).toBe(`${expected.join('\n')}\n`);
    },
  );

  it('labels per release: /data, /data/media and /data/user changed types over time', async () => {
    const types = async (release: number) =>
      (await sh(release, 'ls -dZ /data /data/media /data/user')).stdout.replace(/ +/g, ' ');
    expect(await types(10)).toBe(
      'u:object_r:system_data_file:s0 /data\nu:object_r:media_rw_data_file:s0 /data/media\nu:object_r:system_data_file:s0 /data/user\n',
    );
    expect(await types(13)).toBe(
      'u:object_r:system_data_root_file:s0 /data\nu:object_r:media_rw_data_file:s0 /data/media\nu:object_r:system_data_file:s0 /data/user\n',
    );
    expect(await types(14)).toBe(
      'u:object_r:system_data_root_file:s0 /data\nu:object_r:media_userdir_file:s0 /data/media\nu:object_r:system_userdir_file:s0 /data/user\n',
    );
  });

  it('Android 10 prints the context of ls -lZ with one space before the size, as toybox 0.8.0 does', async () => {
    await sh(10, 'mkdir -p /data/local/tmp/z && touch /data/local/tmp/z/f');
    const r = await sh(10, 'ls -lZ /data/local/tmp/z; ls -nZ /data/local/tmp/z');
    expect(r.stdout).toMatch(
      /^total 0\n-rw-r--r-- 1 root root u:object_r:shell_data_file:s0 0 \d{4}-\d\d-\d\d \d\d:\d\d f\ntotal 0\n-rw-r--r-- 1 0 0 u:object_r:shell_data_file:s0 0 [-\d]+ [:\d]+ f\n$/,
    );
  });
});

describe('du -b', () => {
  it('Android 10 has no du -b and says so as toybox 0.8.0 does; 11+ has it', async () => {
    await sh(10, 'mkdir -p /data/local/tmp/du && head -c 5000 /dev/zero > /data/local/tmp/du/f');
    const r = await sh(
      10,
      'cd /data/local/tmp; du -sb du; echo rc=$?; du -bs du; du -s -b du; du --apparent-size du; du -d 0 -k du; du -d0 du; du -sk du',
    );
    expect(r.stderr).toBe(
      [
        'du: Unknown option b (see "du --help")',
        'du: Unknown option bs (see "du --help")',
        'du: Unknown option b (see "du --help")',
        'du: Unknown option apparent-size (see "du --help")',
        '',
      ].join('\n'),
    );
    expect(r.stdout).toMatch(/^rc=1\n\d+\tdu\n\d+\tdu\n\d+\tdu\n$/);
    const later = await sh(
      11,
      'mkdir -p /data/local/tmp/du && head -c 5000 /dev/zero > /data/local/tmp/du/f && du -b /data/local/tmp/du/f',
    );
    expect(later).toEqual({ stdout: '5000\t/data/local/tmp/du/f\n', stderr: '', code: 0 });
  });
});
