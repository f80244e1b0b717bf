import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ls } from '../src/emulator/android/commands/ls.ts';
import type { LabelStore } from '../src/emulator/android/labels.ts';
import { type Phone, startPhone } from '../src/emulator/android/phone.ts';
import { profileFor } from '../src/emulator/android/profile.ts';
import { PhoneRoot } from '../src/emulator/android/root-path.ts';
import { appDataContext } from '../src/emulator/android/seapp.ts';
import { shell } from '../src/emulator/android/testing.ts';

// ls -Z is answered by the system server, which re-implements toybox's listing. With every
// context "?" its output must be byte for byte what toybox's own ls prints (Debian's toybox 0.8.9
// is Android 14's), for each combination of options; then the real labels, as a phone shows them.

let dir: string;
let phone: Phone;
const T = '/data/local/tmp/t';

beforeAll(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ls-z-test-'));
  phone = await startPhone(path.join(dir, 'root'));
  const setup = [
    `mkdir -p ${T}/d/sub ${T}/.hidden ${T}/sg && cd ${T}`,
    'echo hello > f && echo a-longer-file-body > d/g && : > d/.dot && touch -d 2021-07-01T08:00:00 d/sub/old',
    'printf "#!/system/bin/sh\\n" > run.sh && chmod 755 run.sh && chmod 2771 sg && chown 10057:20057 d/g',
    'chown 4321:4321 f && ln -s f lf && ln -s d ld && ln -s /nowhere dangling && ln -s ../t/d d/up',
  ];
  const r = await shell(phone, setup.join(' && '));
  expect(r).toMatchObject({ code: 0, stderr: '' });
});
afterAll(async () => {
  await phone?.close();
  await fsp.rm(dir, { recursive: true, force: true });
});

/** the system server's ls -Z, run in-process with every context "?" */
async function lsWithQuestionMarks(cwd: string, args: string[]) {
  const labels = { contextOf: () => '?' } as unknown as LabelStore;
  let stdout = '';
  let stderr = '';
  const code = await ls(
    new PhoneRoot(phone.root),
    labels,
    profileFor(14),
  )({
    args: [cwd, ...args],
    stdin: new PassThrough(),
    out: (t) => (stdout += t),
    err: (t) => (stderr += t),
  });
  return { stdout, stderr, code };
}

describe('ls -Z output is toybox ls output', () => {
  const cases = [
    '-Z',
    '-dZ',
    '-aZ',
    '-AZ',
    '-lZ',
    '-laZ',
    '-lnZ',
    '-nZ',
    '-oZ',
    '-gZ',
    '-1Z',
    '-RZ',
    '-RlZ',
    '-RaZ d',
    '-Z f d missing ld lf dangling',
    '-lZ f d missing ld lf dangling',
    '-dZ . .. d/ /data/local/tmp/t/d',
    '-Z d/',
    '-RZ d/',
    '-iZ d',
    '-pZ',
    '-FZ',
    '-FlZ',
    '-tZ d/sub d',
    '-SlZ d',
    '-rZ',
    '-LZ',
    '-LlZ',
    '-HlZ ld lf',
    '-lcZ d',
    '-luZ d',
    '-Z -- -l',
    'd -Z',
    '-yZ',
    '-Zy',
    '--nope -Z',
  ];
  it.each(cases)('ls %s', async (args) => {
    const toybox = await shell(phone, `cd ${T} && toybox ls ${args}`);
    const ours = await lsWithQuestionMarks(T, args.split(' '));
    expect(ours).toEqual(toybox);
  });

  it('lists from the working folder of the shell, relative paths included', async () => {
    const r = await shell(phone, `cd ${T}/d && ls -Z . ../f && cd / && ls -dZ data/local/tmp`);
    expect(r).toEqual({
      // "." sorts first and is skipped (a folder at the top), but the newline before the next entry is printed
      stdout: [
        '',
        'u:object_r:shell_data_file:s0 ../f',
        '',
        '.:',
        'u:object_r:shell_data_file:s0 g',
        'u:object_r:shell_data_file:s0 sub',
        'u:object_r:shell_data_file:s0 up',
        'u:object_r:shell_data_file:s0 data/local/tmp',
        '',
      ].join('\n'),
      stderr: '',
      code: 0,
    });
  });
});

describe('labels as a phone shows them', () => {
  it('prints file_contexts labels for the layout and chcon/restorecon change them', async () => {
    const r = await shell(phone, 'ls -dZ /data /data/app /data/local/tmp /system/bin/sh /sdcard');
    // the context column is as wide as the widest context
    expect(r.stdout).toBe(
      [
        'u:object_r:system_data_root_file:s0 /data',
        'u:object_r:apk_data_file:s0         /data/app',
        'u:object_r:shell_data_file:s0       /data/local/tmp',
        'u:object_r:rootfs:s0                /sdcard',
        'u:object_r:shell_exec:s0            /system/bin/sh',
        '',
      ].join('\n'),
    );
    const ctx = appDataContext(10057, 0, 34);
    const set = await shell(phone, `chcon -R ${ctx} ${T}/d; echo rc=$?; ls -lZ ${T}/d; ls -dZ ${T}/d/sub/old`);
    // chcon follows links without -h: the dangling d/up fails, and keeps the type it inherits, at s0
    expect(set.stderr).toBe(`chcon: '${T}/d/up' to ${ctx}: No such file or directory\n`);
    const time = '\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d';
    const lines = [
      'rc=1',
      'total 8',
      `-rw-r--r-- 1 10057 20057 ${ctx}    19 ${time} g`,
      `drwxr-xr-x 2 root  root  ${ctx}  4096 ${time} sub`,
      `lrwxrwxrwx 1 root  root  u:object_r:app_data_file:s0                        6 ${time} up -> ../t/d`,
      `${ctx} ${T}/d/sub/old`,
      '',
    ];
    expect(set.stdout).toMatch(new RegExp(`^${lines.map((l) => l.replace(/[.*]/g, '\\$&')).join('\\n')}$`));
  });
});
