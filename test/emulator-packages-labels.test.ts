import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Phone } from '../src/emulator/android/phone.ts';
import { shell } from '../src/emulator/android/testing.ts';
import { startPhoneAs } from '../src/emulator/android/testing-release.ts';

// The installer labels the CE and DE folders it makes with the app's seapp context, per user:
// app_data_file with levelFrom=all categories for targetSdk >= 28 (libselinux android_seapp.c
// set_range_from_level: c<appid&0xff>,c<256+(appid>>8&0xff)>,c<512+(user&0xff)>,c<768+(user>>8&0xff)>,
// appid = appId - 10000). The seed apps' targetSdk is 29.

let dir: string;
let phone: Phone;

beforeAll(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'phone-labels-'));
  phone = await startPhoneAs(path.join(dir, 'root'), 14, { seedApps: true });
});
afterAll(async () => {
  await phone?.close();
  await fsp.rm(dir, { recursive: true, force: true });
});

describe('app data labels', () => {
  it('labels CE and DE folders, their cache folders and seeded files for each user', async () => {
    // com.example.notes is appId 10001 (the launcher, scanned first, has 10000): appid 1
    const user0 = 'u:object_r:app_data_file:s0:c1,c256,c512,c768';
    const user10 = 'u:object_r:app_data_file:s0:c1,c256,c522,c768';
    const get = (p: string) => phone.labels.get(p);
    expect(await get('/data/user/0/com.example.notes')).toBe(user0);
    expect(await get('/data/user_de/0/com.example.notes')).toBe(user0);
    expect(await get('/data/user/0/com.example.notes/cache')).toBe(user0);
    expect(await get('/data/user/0/com.example.notes/files/notes/2023/03/pi-day.txt')).toBe(user0);
    expect(await get('/data/user/10/com.example.notes')).toBe(user10);
    expect(await get('/data/user_de/10/com.example.notes/code_cache')).toBe(user10);
    // the shared-UID pair (appId 10003) shares a context
    expect(await get('/data/user/0/com.example.sync.plugin')).toBe('u:object_r:app_data_file:s0:c3,c256,c512,c768');
    expect(await get('/data/user/0/com.example.sync')).toBe('u:object_r:app_data_file:s0:c3,c256,c512,c768');
    // and the phone's ls -Z shows them
    expect((await shell(phone, 'ls -dZ /data/user/0/com.example.notes /data/user/10/com.example.notes')).stdout).toBe(
      `${user0} /data/user/0/com.example.notes\n${user10} /data/user/10/com.example.notes\n`,
    );
  });

  it('labels the folders of a later install too', async () => {
    await fsp.copyFile(
      path.join(import.meta.dirname, '..', 'fixtures', 'apks', 'notes.apk'),
      path.join(phone.root, 'data/local/tmp/notes.apk'),
    );
    expect((await shell(phone, 'pm uninstall com.example.notes && pm install /data/local/tmp/notes.apk')).stdout).toBe(
      'Success\nSuccess\n',
    );
    // a new appId (10004: appIds are not reused), so new categories
    expect(await phone.labels.get('/data/user/0/com.example.notes')).toBe(
      'u:object_r:app_data_file:s0:c4,c256,c512,c768',
    );
  });
});

describe('an update relabels data as installd restorecon_app_data_lazy does', () => {
  const ce = '/data/user/0/com.example.notes';
  const nested = `${ce}/files/bench-lazy.txt`;
  const other = 'u:object_r:app_data_file:s0';
  const update = async () => {
    await fsp.copyFile(
      path.join(import.meta.dirname, '..', 'fixtures', 'apks', 'notes.apk'),
      path.join(phone.root, 'data/local/tmp/notes.apk'),
    );
    expect((await shell(phone, 'pm install -r /data/local/tmp/notes.apk')).stdout).toBe('Success\n');
  };

  it('leaves the contents alone when the folder at the top already has the app context', async () => {
    const context = await phone.labels.get(ce);
    expect((await shell(phone, `mkdir -p ${ce}/files && echo x > ${nested} && chcon ${other} ${nested}`)).code).toBe(0);
    await update();
    expect(await phone.labels.get(ce)).toBe(context);
    // a recursive relabel on every update would have given it the app's context again
    expect(await phone.labels.get(nested)).toBe(other);
  });

  it('relabels the whole tree when the top label was not the app context', async () => {
    const context = await phone.labels.get(ce);
    await shell(phone, `chcon ${other} ${ce} ${nested}`);
    await update();
    expect(await phone.labels.get(ce)).toBe(context);
    expect(await phone.labels.get(nested)).toBe(context);
  });
});
