import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Phone } from '../src/emulator/android/phone.ts';
import { shell } from '../src/emulator/android/testing.ts';
import { startPhoneAs } from '../src/emulator/android/testing-release.ts';

// `settings` as SettingsService.MyShellCommand answers it (src/emulator/android/commands/settings.ts):
// sorted name=value lists, "null" for a missing key, silent put, one-line refusals with exit 255.

let dir: string;
let phone: Phone;
const sh = (c: string) => shell(phone, c);

beforeAll(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'phone-settings-'));
  phone = await startPhoneAs(path.join(dir, 'root'), 14, { seedApps: false });
}, 60_000);
afterAll(async () => {
  await phone?.close();
  await fsp.rm(dir, { recursive: true, force: true });
});

describe('settings on the emulated phone', () => {
  it('lists a namespace as sorted name=value lines, gets one value, and "null" for none', async () => {
    const list = await sh('settings list system');
    expect(list.code).toBe(0);
    const lines = list.stdout.trimEnd().split('\n');
    expect(lines).toEqual([...lines].sort());
    expect(lines).toContain('screen_off_timeout=60000');
    expect((await sh('settings get system screen_off_timeout')).stdout).toBe('60000\n');
    expect((await sh('settings get global no_such_key')).stdout).toBe('null\n');
    expect((await sh('settings get secure android_id')).stdout).toMatch(/^[0-9a-f]{16}\n$/);
  });

  it('puts silently, for user 0 too, through cmd settings as well, and keeps values with spaces', async () => {
    expect(await sh('settings --user 0 put system screen_off_timeout 300000')).toMatchObject({
      code: 0,
      stdout: '',
    });
    expect((await sh('cmd settings get system screen_off_timeout')).stdout).toBe('300000\n');
    await sh("settings put global device_name 'My phone'");
    expect((await sh('settings get global device_name')).stdout).toBe('My phone\n');
    expect((await sh('settings delete global device_name')).stdout).toBe('Deleted 1 rows\n');
  });

  it('refuses what SettingsService refuses, one line on stderr, exit 255', async () => {
    expect(await sh('settings list vendor')).toMatchObject({ code: 255, stderr: "Invalid namespace 'vendor'\n" });
    expect(await sh('settings frob system')).toMatchObject({ code: 255, stderr: 'Invalid command: frob\n' });
    expect(await sh('settings --user 0 list system')).toMatchObject({
      code: 255,
      stderr: '--user not supported for delete and list.\n',
    });
    expect(await sh('settings get system')).toMatchObject({ code: 255, stderr: 'Bad arguments\n' });
  });
});
