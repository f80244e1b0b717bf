import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyInstanceSettings,
  instanceSettingsSchema,
  readInstanceSettings,
} from '../src/backup/instance-settings.ts';
import { connectAdb } from '../src/devices/adb/connect.ts';
import type { Device } from '../src/devices/device.ts';
import { type Emulator, startEmulator } from '../src/emulator/emulator.ts';

// The settings a whole-instance backup carries, read from one emulated phone and put back on
// another over ADB: only the user preferences of src/android/settings.ts, never the identity.

const dir = mkdtempSync(join(tmpdir(), 'instance-settings-'));
const phones: Emulator[] = [];
const devices: Device[] = [];

beforeAll(async () => {
  for (const name of ['a', 'b']) {
    const phone = await startEmulator({ root: join(dir, name), port: 0, seedApps: false });
    phones.push(phone);
    devices.push(await connectAdb(phone.address, { keyDir: join(dir, 'adb') }));
  }
}, 60_000);
afterAll(async () => {
  for (const d of devices) await d.close();
  for (const p of phones) await p.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('instance settings', () => {
  it('carries the preferences from one phone to another, and not its identity', async () => {
    const [a, b] = devices as [Device, Device];
    await a.putSetting('system', 'screen_off_timeout', '600000');
    await a.putSetting('global', 'window_animation_scale', '0.5');
    await a.putSetting('global', 'device_name', "Ann's phone");
    const saved = await readInstanceSettings(a);
    expect(saved.system.screen_off_timeout).toBe('600000');
    expect(saved.global).not.toHaveProperty('device_name');
    expect(saved.secure).not.toHaveProperty('android_id');
    const idBefore = (await b.settings('secure')).get('android_id');
    const changed = await applyInstanceSettings(b, saved);
    expect(changed.sort()).toEqual(['global/window_animation_scale', 'system/screen_off_timeout']);
    expect((await b.settings('system')).get('screen_off_timeout')).toBe('600000');
    expect((await b.settings('global')).get('device_name')).toBe('Cloud Phone');
    expect((await b.settings('secure')).get('android_id')).toBe(idBefore);
    expect(await applyInstanceSettings(b, saved)).toEqual([]);
  });

  it('refuses, as untrusted input, a manifest that would set a key no restore carries', () => {
    expect(instanceSettingsSchema.safeParse({ secure: { android_id: '0' } }).success).toBe(false);
    expect(instanceSettingsSchema.safeParse({ global: { adb_enabled: '0' } }).success).toBe(false);
    expect(instanceSettingsSchema.safeParse({ system: { font_scale: '1.0\nrm -rf /' } }).success).toBe(false);
    expect(instanceSettingsSchema.parse({ system: { font_scale: '1.3' } })).toEqual({
      system: { font_scale: '1.3' },
      secure: {},
      global: {},
    });
  });

  it('quotes values and refuses keys and values that are not settings', async () => {
    const [a] = devices as [Device];
    await a.putSetting('system', 'font_scale', "1.0'; touch /data/pwned; '");
    expect((await a.settings('system')).get('font_scale')).toBe("1.0'; touch /data/pwned; '");
    expect(existsSync(join(dir, 'a', 'data', 'pwned'))).toBe(false);
    await expect(a.putSetting('system', 'Bad Key', '1')).rejects.toMatchObject({ code: 'InvalidParameter' });
    await expect(a.putSetting('system', 'font_scale', 'a\nb')).rejects.toMatchObject({ code: 'InvalidParameter' });
    await a.putSetting('system', 'font_scale', '1.0');
  });
});
