import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Phone, startPhone } from '../src/emulator/android/phone.ts';
import { shell } from '../src/emulator/android/testing.ts';

// User 0's CE storage before the first unlock: encrypted names, files that cannot be read, no
// plaintext paths for the system server, and sys.user.0.ce_available not set.

let dir: string;
let phone: Phone;
const NOTES = '/data/user/0/com.example.notes';
const NOKEY = /^[A-Za-z0-9_-]{32,}$/;
const sh = (command: string) => shell(phone, command);

beforeAll(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'locked-ce-test-'));
  phone = await startPhone(path.join(dir, 'root'), { seedApps: true });
}, 60_000);
afterAll(async () => {
  await phone?.close();
  await fsp.rm(dir, { recursive: true, force: true });
});

/** the sorted owner/mode and label columns of a folder's entries, without names */
async function shape(folder: string): Promise<string[]> {
  const r = await sh(
    // ./ first: a no-key name is base64url and may start with '-', which stat would take for an option
    `cd ${folder} && for f in * .*; do [ -e "./$f" ] || [ -L "./$f" ] && stat -c '%u %g %a %F' "./$f"; done; ls -aZ | sed 's/ .*//'`,
  );
  return r.stdout.trim().split('\n').sort();
}

describe('locked CE storage', () => {
  it('is unlocked after boot: ce_available is true', async () => {
    expect(phone.ceLocked).toBe(false);
    expect((await sh('getprop sys.user.0.ce_available; getprop ro.crypto.state')).stdout).toBe('true\nunencrypted\n');
  });

  it('shows encrypted names with the same owners, modes and labels, and cannot read or create files', async () => {
    const before = {
      names: (await sh('ls /data/user/0')).stdout,
      shape: await shape('/data/user/0'),
      notes: await shape(NOTES),
    };
    expect(before.names).toContain('com.example.notes');
    await phone.lockCe();
    expect(phone.ceLocked).toBe(true);
    const names = (await sh('ls /data/user/0')).stdout.trim().split('\n');
    expect(names).toHaveLength(before.names.trim().split('\n').length);
    for (const name of names) expect(name).toMatch(NOKEY);
    expect((await sh('ls /data/data')).stdout.trim().split('\n')).toEqual(names);
    expect(await shape('/data/user/0')).toEqual(before.shape);
    const file = (await sh('find /data/user/0 -type f | head -1')).stdout.trim();
    expect(file).not.toBe('');
    const read = await sh(`cat ${file}`);
    expect(read).toMatchObject({ code: 1, stdout: '' });
    expect(read.stderr).toMatch(/Permission denied/);
    const tar = await sh('tar -cf - -C /data/user/0 . | wc -c');
    expect(tar.stderr).toMatch(/can't open/);
    expect((await sh('touch /data/user/0/new; echo rc=$?')).stdout).toBe('rc=1\n');
    // readlink gives the encrypted target, and external storage of user 0 is CE too
    const links = await sh('find /data/user/0 -type l | head -1 | xargs readlink; ls /data/media/0 | head -1');
    for (const line of links.stdout.trim().split('\n')) expect(line).toMatch(NOKEY);
  });

  it('has no plaintext names for the system server and no ce_available property', async () => {
    const r = await sh(`ls -dZ ${NOTES}; restorecon ${NOTES}; chcon u:object_r:app_data_file:s0 ${NOTES}/files`);
    expect(r.stderr).toBe(
      [
        `ls: ${NOTES}: No such file or directory`,
        `restorecon: restorecon failed: ${NOTES}: No such file or directory`,
        `chcon: ${NOTES}/files: No such file or directory`,
        '',
      ].join('\n'),
    );
    const props = await sh(
      'getprop sys.user.0.ce_available; getprop ro.crypto.state; getprop ro.crypto.type; getprop | grep -c ce_available',
    );
    expect(props.stdout).toBe('\nencrypted\nfile\n0\n');
    // the encrypted view lists the folders' real labels, as xattrs are not encrypted
    const labels = (await sh('ls -Z /data/user/0')).stdout.trim().split('\n');
    expect(labels.map((l) => l.split(' ')[1])).toEqual((await sh('ls /data/user/0')).stdout.trim().split('\n'));
    // DE storage is not locked
    expect((await sh('ls /data/user_de/0')).stdout).toContain('com.example.notes');
  });

  it('unlocks: plaintext names, readable files, ce_available true', async () => {
    await phone.unlockCe();
    const r = await sh(
      `ls ${NOTES}/files/notes/2023/03; cat ${NOTES}/files/notes/2023/03/pi-day.txt; getprop sys.user.0.ce_available`,
    );
    expect(r).toEqual({ stdout: 'pi-day.txt\nremaining.md\nBuy pie.\ntrue\n', stderr: '', code: 0 });
  });

  it('a phone can start locked (emulator --locked-ce), on Android 10 too', async () => {
    const root = path.join(dir, 'ten');
    await (await startPhone(root, { android: 10, seedApps: true })).close();
    const locked = await startPhone(root, { lockedCe: true });
    try {
      const r = await shell(locked, 'ls /data/data; ls /data/user/0/; getprop sys.user.0.ce_available');
      const lines = r.stdout.split('\n');
      expect(lines.at(-2)).toBe('');
      for (const name of lines.slice(0, -2)) expect(name).toMatch(NOKEY);
      expect(r.stdout).not.toContain('com.example');
    } finally {
      await locked.close();
    }
  });
});
