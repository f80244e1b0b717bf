import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../src/emulator/emulator.ts';

// The operator commands through the real binary: keys create, instances add/list/remove, with
// the device facts read from the phone rather than typed in.

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '..', 'bin', 'cloudphone-backup.js');
const dir = mkdtempSync(join(tmpdir(), 'cpb-cli-'));
const cli = (...args: string[]) => run('node', [BIN, ...args, '--data-dir', join(dir, 'data')]);
let phone: Emulator;

beforeAll(async () => {
  phone = await startEmulator({ root: join(dir, 'phone'), port: 0 });
}, 60_000);
afterAll(async () => {
  await phone?.close();
  rmSync(dir, { recursive: true, force: true });
});

it('keys create prints a new pair each time, as JSON with --json', async () => {
  const a = JSON.parse((await cli('keys', 'create', '--json')).stdout);
  const b = JSON.parse((await cli('keys', 'create', '--json', '--account', 'ops')).stdout);
  expect(a.AccessKeyId).toMatch(/^LTAI[A-Za-z0-9]{20}$/);
  expect(a.AccessKeySecret).toMatch(/^[A-Za-z0-9]{30}$/);
  expect(b.AccessKeyId).not.toBe(a.AccessKeyId);
  expect((await cli('keys', 'create')).stdout).toMatch(/export ALIBABA_CLOUD_ACCESS_KEY_SECRET=[A-Za-z0-9]{30}/);
});

it('instances add reads Android version, ABI and fingerprint from the phone; list and remove', async () => {
  const added = await cli('instances', 'add', '--id', 'acp-cli', '--adb', phone.address, '--image-type', 'public');
  expect(added.stdout).toContain(`added acp-cli (Android ${phone.phone.props['ro.build.version.release']}`);
  const list = JSON.parse((await cli('instances', 'list', '--json')).stdout);
  expect(list).toEqual([
    expect.objectContaining({
      id: 'acp-cli',
      imageType: 'public',
      abi: phone.phone.props['ro.product.cpu.abi'],
      fingerprint: phone.phone.props['ro.build.fingerprint'],
      status: 'RUNNING',
    }),
  ]);
  expect(JSON.parse((await cli('instances', 'list', '--json', '--account', 'ops')).stdout)).toEqual([]);
  await expect(cli('instances', 'add', '--id', 'acp-x', '--adb', 'not an address')).rejects.toMatchObject({
    stderr: expect.stringContaining('not a host:port ADB address'),
  });
  await cli('instances', 'remove', '--id', 'acp-cli');
  expect(JSON.parse((await cli('instances', 'list', '--json')).stdout)).toEqual([]);
}, 60_000);
