import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connectAdb } from '../src/devices/adb/connect.ts';
import type { Device } from '../src/devices/device.ts';
import { shell } from '../src/emulator/android/testing.ts';
import { type Emulator, startEmulator } from '../src/emulator/emulator.ts';

// adbd's sync service (adb pull/push) sees the phone's mounts as its shell does: Android 11+'s
// /data/data is /data/user/0, and locked CE storage has no plaintext names.

let dir: string;
let emulator: Emulator;
let device: Device;

beforeAll(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'adb-mounts-test-'));
  emulator = await startEmulator({ root: path.join(dir, 'phone'), port: 0, android: 14 });
  device = await connectAdb(emulator.address, { keyDir: path.join(dir, 'keys') });
});
afterAll(async () => {
  await device?.close();
  await emulator?.close();
  await fsp.rm(dir, { recursive: true, force: true });
});

const text = async (stream: Readable) => {
  let out = '';
  for await (const chunk of stream) out += chunk;
  return out;
};

it('pulls through /data/data and /data/user/0 alike, and finds nothing there while CE storage is locked', async () => {
  expect(await shell(emulator.phone, 'mkdir -p /data/data/com.z && echo hi > /data/data/com.z/f')).toMatchObject({
    code: 0,
  });
  expect(await text(device.readFile('/data/data/com.z/f'))).toBe('hi\n');
  expect(await text(device.readFile('/data/user/0/com.z/f'))).toBe('hi\n');
  await emulator.phone.lockCe();
  try {
    await expect(text(device.readFile('/data/data/com.z/f'))).rejects.toThrow();
    await expect(text(device.readFile('/data/user/0/com.z/f'))).rejects.toThrow();
  } finally {
    await emulator.phone.unlockCe();
  }
  expect(await text(device.readFile('/data/user/0/com.z/f'))).toBe('hi\n');
});
