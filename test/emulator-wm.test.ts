import { promises as fsp } from 'node:fs';
import os, { networkInterfaces } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseHardware } from '../src/devices/hardware-facts.ts';
import { type Phone, startPhone } from '../src/emulator/android/phone.ts';
import { shell } from '../src/emulator/android/testing.ts';

// `wm` (= cmd window) size/density as WindowManagerShellCommand answers them, `ip -o addr` as
// iproute2 prints it, and the client's reading of both (src/devices/hardware-facts.ts).

let dir: string;
const phones = new Map<number, Phone>();

beforeAll(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'phone-wm-'));
  phones.set(
    14,
    await startPhone(path.join(dir, 'a14'), { android: 14, display: { width: 1080, height: 2340, dpi: 440 } }),
  );
  phones.set(10, await startPhone(path.join(dir, 'a10'), { android: 10 }));
}, 60_000);
afterAll(async () => {
  for (const p of phones.values()) await p.close();
  await fsp.rm(dir, { recursive: true, force: true });
});

describe.each([10, 14])('wm on Android %i', (release) => {
  const sh = (c: string) => shell(phones.get(release) as Phone, c);
  const [w, h, dpi] = release === 14 ? [1080, 2340, 440] : [720, 1280, 320];

  it('prints the physical size and density, and an Override line only while one is forced', async () => {
    expect(await sh('wm size')).toEqual({ code: 0, stdout: `Physical size: ${w}x${h}\n`, stderr: '' });
    expect((await sh('cmd window density')).stdout).toBe(`Physical density: ${dpi}\n`);
    expect(await sh('wm size 600x1000 && wm density 240')).toMatchObject({ code: 0, stdout: '' });
    expect((await sh('wm size; wm density')).stdout).toBe(
      `Physical size: ${w}x${h}\nOverride size: 600x1000\nPhysical density: ${dpi}\nOverride density: 240\n`,
    );
    // dp are scaled by the current density (240/160); the window manager keeps it within 200 px … 2 × physical
    await sh('wm size 400dpx100000');
    expect((await sh('wm size')).stdout).toBe(`Physical size: ${w}x${h}\nOverride size: 600x${2 * h}\n`);
    await sh(`wm size ${w}x${h}px`);
    expect((await sh('wm size')).stdout).toBe(`Physical size: ${w}x${h}\n`);
    await sh('wm size 100x100');
    expect((await sh('wm size -d 0')).stdout).toContain('Override size: 200x200\n');
    expect(await sh('wm size reset && wm density reset && wm size && wm density')).toMatchObject({
      stdout: `Physical size: ${w}x${h}\nPhysical density: ${dpi}\n`,
    });
  });

  it('refuses what the shell command refuses, and reads an unknown display as 0x0 and -1', async () => {
    expect(await sh('wm size 1080')).toEqual({ code: 255, stdout: '', stderr: 'Error: bad size 1080\n' });
    expect(await sh('wm size 10x1.5')).toEqual({
      code: 255,
      stdout: '',
      stderr: 'Error: bad number java.lang.NumberFormatException: For input string: "1.5"\n',
    });
    expect(await sh('wm density 60')).toMatchObject({ code: 255, stderr: 'Error: density must be >= 72\n' });
    expect(await sh('wm frob')).toEqual({ code: 255, stdout: 'Unknown command: frob\n', stderr: '' });
    expect((await sh('wm size -d 3; wm density -d 3')).stdout).toBe('Physical size: 0x0\nPhysical density: -1\n');
  });
});

it('keeps a forced size across a restart, as WindowManager keeps display settings', async () => {
  const root = path.join(dir, 'a10');
  await shell(phones.get(10) as Phone, 'wm size 640x1136');
  await phones.get(10)?.close();
  phones.set(10, await startPhone(root, { android: 10 }));
  expect((await shell(phones.get(10) as Phone, 'wm size')).stdout).toBe(
    'Physical size: 720x1280\nOverride size: 640x1136\n',
  );
  await shell(phones.get(10) as Phone, 'wm size reset');
});

describe('ip -o addr on the emulated phone', () => {
  const sh = (c: string) => shell(phones.get(14) as Phone, c);
  const hostV4 = Object.entries(networkInterfaces()).flatMap(([dev, list]) =>
    (list ?? []).filter((a) => a.family === 'IPv4').map((a) => ({ dev, cidr: a.cidr ?? '' })),
  );

  it("lists the host's IPv4 addresses, one a line, in iproute2's one-line format", async () => {
    const { code, stdout } = await sh('ip -o -4 addr show');
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(hostV4.length);
    for (const { dev, cidr } of hostV4) {
      const scope = cidr.startsWith('127.') ? 'host' : 'global';
      const re = new RegExp(
        `^\\d+: ${dev}    inet ${cidr.replace(/\./g, '\\.')} (brd [\\d.]+ )?scope ${scope} ${dev}\\\\       valid_lft forever preferred_lft forever$`,
      );
      expect(lines.filter((l) => re.test(l))).toHaveLength(1);
    }
    expect((await sh('ip -o -4 addr show dev lo')).stdout).toMatch(
      /^1: lo {4}inet 127\.0\.0\.1\/8 scope host lo\\ {7}valid_lft forever preferred_lft forever\n$/,
    );
  });

  it('refuses a device that does not exist, and the forms it does not imitate', async () => {
    expect(await sh('ip -o addr show dev nosuch0')).toEqual({
      code: 255,
      stdout: '',
      stderr: 'Device "nosuch0" does not exist.\n',
    });
    expect((await sh('ip addr')).code).toBe(1);
    expect((await sh('ip -o route')).code).toBe(1);
  });
});

describe('the client reads what the phone prints', () => {
  it('takes the override over the physical value, MemTotal in MiB, and the first global IPv4', () => {
    const printed = [
      'cpus 8',
      'MemTotal:        3849384 kB',
      'Physical size: 1080x2400',
      'Override size: 720x1600',
      'Physical density: 440',
      '1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever',
      '21: wlan0    inet 169.254.3.9/16 brd 169.254.255.255 scope link wlan0\\       valid_lft forever preferred_lft forever',
      '30: eth0    inet 10.0.4.17/24 brd 10.0.4.255 scope global eth0\\       valid_lft forever preferred_lft forever',
    ].join('\n');
    expect(parseHardware(printed)).toEqual({
      cpuCount: 8,
      memoryMb: 3759,
      display: { width: 720, height: 1600, dpi: 440 },
      networkIp: '10.0.4.17',
    });
  });

  it('leaves unknown what the phone did not print (no window manager yet, no network, no /proc)', () => {
    const printed = "cpus \ncmd: Can't find service: window\n1: lo    inet 127.0.0.1/8 scope host lo\n";
    expect(parseHardware(printed)).toEqual({ cpuCount: null, memoryMb: null, display: null, networkIp: null });
    expect(parseHardware('Physical size: 0x0\nPhysical density: -1\n').display).toBeNull();
  });
});
