import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Phone, startPhone } from '../src/emulator/android/phone.ts';
import { appDataContext } from '../src/emulator/android/seapp.ts';
import { shell } from '../src/emulator/android/testing.ts';

// chcon and restorecon change the phone's labels as toybox's applets and libselinux do; with
// --no-selinux the phone has no labels at all.

let dir: string;
let phone: Phone;
const NOTES = '/data/user/0/com.example.notes';
let APP: string;

beforeAll(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'relabel-test-'));
  phone = await startPhone(path.join(dir, 'root'), { seedApps: true });
  APP = appDataContext(Number((await shell(phone, `stat -c %u ${NOTES}`)).stdout), 0, 34);
}, 60_000);
afterAll(async () => {
  await phone?.close();
  await fsp.rm(dir, { recursive: true, force: true });
});

const sh = (command: string) => shell(phone, command);

describe('chcon', () => {
  it('labels each entry, recursing with -R, labelling links themselves with -h, and says so with -v', async () => {
    await sh('mkdir -p /data/local/tmp/c/d && cd /data/local/tmp/c && touch d/f && ln -s d/f l');
    const r = await sh(`cd /data/local/tmp && chcon -hRv ${APP} c && ls -RZ c`);
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n').slice(0, 4).sort()).toEqual(
      ["chcon 'c' to X", "chcon 'c/d' to X", "chcon 'c/d/f' to X", "chcon 'c/l' to X"].map((l) => l.replace('X', APP)),
    );
    expect(r.stdout.split('\n').slice(4).join('\n')).toBe(`c:\n${APP} d\n${APP} l\n\nc/d:\n${APP} f\n`);
    // without -h a link's target is labelled, not the link
    const other = 'u:object_r:app_data_file:s0:c512,c768';
    const t = await sh(`cd /data/local/tmp/c && chcon ${other} l && ls -Z d/f && ls -dZ l`);
    expect(t.stdout).toBe(`${other} d/f\n${APP} l\n`);
  });

  it('refuses invalid contexts, missing files and the read-only /system, like toybox and the kernel', async () => {
    const r = await sh(
      'chcon bad /data/local/tmp; chcon u:object_r:app_data_file:s0:c1024 /data/local/tmp; chcon u:object_r:x:s0 /nope; chcon u:object_r:x:s0 /system/bin/sh; chcon -Q x y; chcon x',
    );
    expect(r.stderr).toBe(
      [
        "chcon: '/data/local/tmp' to bad: Invalid argument",
        "chcon: '/data/local/tmp' to u:object_r:app_data_file:s0:c1024: Invalid argument",
        'chcon: /nope: No such file or directory',
        "chcon: '/system/bin/sh' to u:object_r:x:s0: Read-only file system",
        `chcon: Unknown option 'Q' (see "chcon --help")`,
        'chcon: Need 2 arguments (see "chcon --help")',
        '',
      ].join('\n'),
    );
    expect((await sh('ls -dZ /data/local/tmp')).stdout).toBe('u:object_r:shell_data_file:s0 /data/local/tmp\n');
  });
});

describe('restorecon', () => {
  it('restores file_contexts labels, skips folders it did before unless -F, and reports with -v', async () => {
    await sh('mkdir -p /data/local/tmp/r/s && touch /data/local/tmp/r/s/f');
    const wrong = 'u:object_r:system_data_file:s0';
    await sh(`chcon -R ${wrong} /data/local/tmp/r`);
    const first = await sh('restorecon -Rv /data/local/tmp/r && ls -RZ /data/local/tmp/r');
    expect(first.stderr).toBe(
      ['r', 'r/s', 'r/s/f']
        .map((p) => `SELinux:  Relabeling /data/local/tmp/${p} from ${wrong} to u:object_r:shell_data_file:s0.\n`)
        .join(''),
    );
    expect(first.stdout).toBe(
      '/data/local/tmp/r:\nu:object_r:shell_data_file:s0 s\n\n/data/local/tmp/r/s:\nu:object_r:shell_data_file:s0 f\n',
    );
    await sh(`chcon ${wrong} /data/local/tmp/r/s/f`);
    const skipped = await sh('restorecon -R /data/local/tmp/r; ls -Z /data/local/tmp/r/s/f');
    expect(skipped).toEqual({
      stdout: `${wrong} /data/local/tmp/r/s/f\n`,
      stderr: 'SELinux: Skipping restorecon on directory(/data/local/tmp/r)\n',
      code: 0,
    });
    const dry = await sh('restorecon -RFn /data/local/tmp/r; ls -Z /data/local/tmp/r/s/f');
    expect(dry.stdout).toBe(`${wrong} /data/local/tmp/r/s/f\n`);
    const forced = await sh('restorecon -RF /data/local/tmp/r; ls -Z /data/local/tmp/r/s/f');
    expect(forced).toEqual({ stdout: 'u:object_r:shell_data_file:s0 /data/local/tmp/r/s/f\n', stderr: '', code: 0 });
  });

  it('labels app data from seapp_contexts, only at the top without -D', async () => {
    await sh(`chcon -R u:object_r:system_data_file:s0 ${NOTES}`);
    const top = await sh(`restorecon -R ${NOTES} && ls -dZ ${NOTES} && ls -dZ ${NOTES}/files`);
    expect(top.stdout).toBe(`${APP} ${NOTES}\nu:object_r:system_data_file:s0 ${NOTES}/files\n`);
    const all = await sh(`restorecon -RD ${NOTES} && ls -dZ ${NOTES}/files && ls -Z ${NOTES}/files/notes/index.json`);
    expect(all.stdout).toBe(`${APP} ${NOTES}/files\n${APP} ${NOTES}/files/notes/index.json\n`);
    // through /data/data too, which is the same folder
    const again = await sh(
      `chcon ${APP.replace('c0,', 'c1,')} ${NOTES}/files && restorecon /data/data/com.example.notes/files`,
    );
    expect(again.code).toBe(0);
    expect((await sh(`ls -dZ ${NOTES}/files`)).stdout).toBe(`${APP} ${NOTES}/files\n`);
  });

  it('fails like libselinux on unknown packages and missing files', async () => {
    const r = await sh('mkdir -p /data/user/0/com.nope; restorecon /data/user/0/com.nope; echo rc=$?');
    expect(r.stderr).toBe(
      [
        'SELinux:  Could not look up information for package com.nope, cannot restorecon /data/user/0/com.nope.',
        'SELinux: Could not set context for /data/user/0/com.nope:  Success',
        'restorecon: restorecon failed: /data/user/0/com.nope',
        '',
      ].join('\n'),
    );
    expect(r.stdout).toBe('rc=1\n');
    // the folder /data/user/0 names no package: it keeps its file_contexts label
    expect((await sh('restorecon -v /data/user/0')).stderr).toBe('');
    const missing = await sh(
      'restorecon /data/local/tmp/none; echo rc=$?; restorecon -R /data/local/tmp/none; echo rc=$?; restorecon',
    );
    expect(missing).toEqual({
      stdout: 'rc=1\nrc=0\n',
      stderr: [
        'restorecon: restorecon failed: /data/local/tmp/none: No such file or directory',
        'SELinux:  Could not stat /data/local/tmp/none: No such file or directory.',
        'restorecon: Needs 1 argument (see "restorecon --help")',
        '',
      ].join('\n'),
      code: 1,
    });
  });
});

describe('--no-selinux', () => {
  it("has toybox's ls, whose -Z prints ?, and chcon/restorecon that only check their arguments", async () => {
    const off = await startPhone(path.join(dir, 'off'), { selinux: false });
    try {
      const r = await shell(
        off,
        'readlink /system/bin/ls; ls -dZ /data; chcon u:object_r:x:s0 /data && restorecon -R /data',
      );
      expect(r).toEqual({ stdout: 'toybox\n? /data\n', stderr: '', code: 0 });
    } finally {
      await off.close();
    }
  });
});
