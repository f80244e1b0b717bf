import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Phone, startPhone } from '../src/emulator/android/phone.ts';
import { appDataContext, levelFor } from '../src/emulator/android/seapp.ts';

// The label store behind ls -Z, chcon and restorecon, from the host side: what the package
// manager and tests use.

let dir: string;
let phone: Phone;
const host = (p: string) => path.join(phone.root, p);

beforeAll(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'labels-test-'));
  phone = await startPhone(path.join(dir, 'root'));
});
afterAll(async () => {
  await phone?.close();
  await fsp.rm(dir, { recursive: true, force: true });
});

describe('app data contexts (libselinux set_range_from_level, seapp_contexts levelFrom)', () => {
  it('gives targetSdk >= 28 apps levelFrom=all categories and older ones levelFrom=user', () => {
    expect(appDataContext(10149, 0, 34)).toBe('u:object_r:app_data_file:s0:c149,c256,c512,c768');
    expect(appDataContext(10149, 0, 28)).toBe('u:object_r:app_data_file:s0:c149,c256,c512,c768');
    expect(appDataContext(10149, 0, 27)).toBe('u:object_r:app_data_file:s0:c512,c768');
    // app id 300 = 0x12c: c44 and c256+1; user 10 = c522
    expect(appDataContext(1010300, 10, 33)).toBe('u:object_r:app_data_file:s0:c44,c257,c522,c768');
    expect(appDataContext(10300, 10, 33)).toBe('u:object_r:app_data_file:s0:c44,c257,c522,c768');
    expect(levelFor('none', 5, 0)).toBe('s0');
    expect(() => appDataContext(1000, 0, 34)).toThrow(/not an application uid/);
  });
});

describe('the label store', () => {
  it('labels a fresh phone folder from file_contexts', async () => {
    const r = phone.profile.release;
    const get = (p: string) => phone.labels.get(p);
    expect(await get('/')).toBe('u:object_r:rootfs:s0');
    expect(await get('/data')).toBe(`u:object_r:${r >= 11 ? 'system_data_root_file' : 'system_data_file'}:s0`);
    expect(await get('/data/app')).toBe('u:object_r:apk_data_file:s0');
    expect(await get('/data/local/tmp')).toBe('u:object_r:shell_data_file:s0');
    expect(await get('/data/media/0')).toBe('u:object_r:media_rw_data_file:s0');
    expect(await get('/data/user_de/0')).toBe('u:object_r:system_data_file:s0');
    expect(await get('/storage')).toBe('u:object_r:storage_file:s0');
    expect(await get('/sdcard')).toBe('u:object_r:rootfs:s0');
    expect(await get('/proc')).toBe('u:object_r:proc:s0');
    // the read-only image: always file_contexts'
    expect(await get('/system/bin/sh')).toBe('u:object_r:shell_exec:s0');
    expect(await get('/system/bin/toybox')).toBe('u:object_r:toolbox_exec:s0');
    expect(await get('/system/bin/ls')).toBe('u:object_r:system_file:s0');
    await expect(phone.labels.set('/system/bin/sh', 'u:object_r:app_data_file:s0')).rejects.toMatchObject({
      code: 'EROFS',
    });
  });

  it('gives a file never labelled its nearest labelled folder type at s0, and follows links only when asked', async () => {
    const d = '/data/local/tmp/app';
    await fsp.mkdir(host(`${d}/sub`), { recursive: true });
    await fsp.writeFile(host(`${d}/sub/f`), 'x');
    await fsp.symlink('/data/app', host(`${d}/link`));
    expect(await phone.labels.get(`${d}/sub/f`)).toBe('u:object_r:shell_data_file:s0');
    const ctx = appDataContext(10007, 0, 34);
    await phone.labels.set(d, ctx);
    expect(await phone.labels.get(d)).toBe(ctx);
    expect(await phone.labels.get(`${d}/sub/f`)).toBe('u:object_r:app_data_file:s0');
    expect(await phone.labels.get(`${d}/link`)).toBe('u:object_r:app_data_file:s0');
    expect(await phone.labels.get(`${d}/link`, { followLast: true })).toBe('u:object_r:apk_data_file:s0');
    await phone.labels.setRecursive(d, ctx);
    expect(await phone.labels.getRecursive(d)).toEqual([
      [d, ctx],
      [`${d}/link`, ctx],
      [`${d}/sub`, ctx],
      [`${d}/sub/f`, ctx],
    ]);
    expect(await phone.labels.get('/data/app')).toBe('u:object_r:apk_data_file:s0');
  });

  it('keeps a label with the inode: a rename keeps it, a copy and a new file in its place do not', async () => {
    const ctx = 'u:object_r:app_data_file:s0:c1,c256,c512,c768';
    await fsp.writeFile(host('/data/local/tmp/a'), 'a');
    await phone.labels.set('/data/local/tmp/a', ctx);
    await fsp.rename(host('/data/local/tmp/a'), host('/data/local/tmp/b'));
    expect(await phone.labels.get('/data/local/tmp/b')).toBe(ctx);
    await fsp.copyFile(host('/data/local/tmp/b'), host('/data/local/tmp/c'));
    expect(await phone.labels.get('/data/local/tmp/c')).toBe('u:object_r:shell_data_file:s0');
    await fsp.rm(host('/data/local/tmp/b'));
    await fsp.writeFile(host('/data/local/tmp/b'), 'new');
    expect(await phone.labels.get('/data/local/tmp/b')).toBe('u:object_r:shell_data_file:s0');
    await expect(phone.labels.get('/data/local/tmp/none')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('keeps labels across a restart, in the phone folder', async () => {
    const root = path.join(dir, 'restart');
    const first = await startPhone(root);
    const ctx = appDataContext(10042, 0, 30);
    await fsp.mkdir(path.join(first.root, 'data/local/tmp/kept'));
    await first.labels.set('/data/local/tmp/kept', ctx);
    await first.labels.set('/data/local/tmp', 'u:object_r:system_data_file:s0');
    await first.close();
    const second = await startPhone(root);
    try {
      expect(await second.labels.get('/data/local/tmp/kept')).toBe(ctx);
      // a relabelled layout folder is not reset on start
      expect(await second.labels.get('/data/local/tmp')).toBe('u:object_r:system_data_file:s0');
    } finally {
      await second.close();
    }
  });
});
