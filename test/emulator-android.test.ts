import { execFileSync } from 'node:child_process';
import { promises as fsp, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Phone, startPhone } from '../src/emulator/android/phone.ts';
import { shell } from '../src/emulator/android/testing.ts';

let dir: string;
let phone: Phone;

beforeAll(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'phone-test-'));
  phone = await startPhone(path.join(dir, 'root'));
});
afterAll(async () => {
  await phone?.close();
  await fsp.rm(dir, { recursive: true, force: true });
});

describe('sandbox', () => {
  it('shows the phone folder as "/" and nothing of the host', async () => {
    const secret = path.join(dir, 'host-secret.txt');
    await fsp.writeFile(secret, 'top secret');
    const r = await shell(phone, `cat ${secret}; echo "rc=$?"; cat /etc/hostname; echo "rc=$?"; ls /usr; echo "rc=$?"`);
    expect(r.stdout).toBe('rc=1\nrc=1\nrc=1\n');
    expect(r.stdout + r.stderr).not.toContain('top secret');
    const hostname = readFileSync('/etc/hostname', 'utf8').trim();
    if (hostname) expect(r.stdout + r.stderr).not.toContain(hostname);
    // lib and lib64 only hold the mount points of the shell's shared libraries
    const ls = await shell(phone, 'ls /');
    const entries = ls.stdout.split('\n').filter((e) => e && !e.startsWith('lib'));
    expect(entries).toEqual(['data', 'dev', 'etc', 'proc', 'sdcard', 'storage', 'system', 'tmp']);
  });

  it('writes land in the phone folder; /system is read-only', async () => {
    const r = await shell(phone, 'echo hello > /x && mkdir -p /data/local/tmp/d && echo hi > /data/local/tmp/d/f');
    expect(r.code).toBe(0);
    expect(await fsp.readFile(path.join(phone.root, 'x'), 'utf8')).toBe('hello\n');
    expect(await fsp.readFile(path.join(phone.root, 'data/local/tmp/d/f'), 'utf8')).toBe('hi\n');
    const ro = await shell(phone, 'touch /system/bin/evil');
    expect(ro.code).not.toBe(0);
    expect(ro.stderr).toMatch(/Read-only file system/);
  });

  it('is root with file capabilities only: chown works, mounting and device nodes do not', async () => {
    const r = await shell(
      phone,
      'id -u; touch /data/local/tmp/own && chown 10123:20123 /data/local/tmp/own && stat -c "%u:%g" /data/local/tmp/own',
    );
    expect(r.stdout).toBe('0\n10123:20123\n');
    const mount = await shell(phone, 'mount -t tmpfs none /data/local/tmp');
    expect(mount.code).not.toBe(0);
    const mknod = await shell(phone, 'mknod /data/local/tmp/sda b 8 0');
    expect(mknod.code).not.toBe(0);
  });

  it("runs mksh as /system/bin/sh with toybox, Android's environment, and passes the exit code", async () => {
    const r = await shell(
      phone,
      'echo "$KSH_VERSION"; echo "$PATH $HOME $ANDROID_DATA"; readlink /system/bin/cat; exit 42',
    );
    expect(r.stdout).toMatch(/^@\(#\)MIRBSD KSH/);
    expect(r.stdout).toContain('/system/bin:/system/xbin / /data\ntoybox\n');
    expect(r.code).toBe(42);
    const interactive = await new Promise<{ out: string; code: number | null }>((resolve) => {
      const child = phone.spawnShell(null);
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.on('close', (code) => resolve({ out, code }));
      child.stdin.end('echo from stdin\nexit 3\n');
    });
    expect(interactive).toEqual({ out: 'from stdin\n', code: 3 });
  });

  it('sees only its own processes, and killing the shell kills its children', async () => {
    const ps = await shell(phone, 'ls /proc | grep -c "^[0-9]"');
    expect(Number(ps.stdout)).toBeLessThan(8);
    const child = phone.spawnShell('sleep 313.25 & echo started; wait');
    await new Promise((resolve) => child.stdout.once('data', resolve));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.on('close', resolve));
    const survivors = async () => {
      const out = execFileSync('ps', ['-eo', 'args']).toString();
      return out.split('\n').filter((l) => l.includes('sleep 313.25')).length;
    };
    for (let i = 0; i < 40 && (await survivors()) > 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await survivors()).toBe(0);
  });
});

describe('Android layout', () => {
  it('has the Android folders with their owners and modes', async () => {
    const r = await shell(
      phone,
      'stat -c "%n %u %g %a" /data/app /data/user/0 /data/user_de/0 /data/media/0 /data/media/0/Android/data /data/media/0/Android/obb /data/local/tmp /data/system; readlink /sdcard',
    );
    expect(r.stdout).toBe(
      [
        '/data/app 1000 1000 771',
        '/data/user/0 1000 1000 771',
        '/data/user_de/0 1000 1000 771',
        '/data/media/0 1023 1023 2770',
        '/data/media/0/Android/data 1023 1078 2771',
        '/data/media/0/Android/obb 1023 1079 2771',
        '/data/local/tmp 2000 2000 771',
        '/data/system 1000 1000 775',
        '/storage/emulated/0',
        '',
      ].join('\n'),
    );
  });
});

describe('getprop', () => {
  it('lists every prop as [k]: [v], sorted, and prints single values', async () => {
    const all = await shell(phone, 'getprop');
    const lines = all.stdout.trim().split('\n');
    expect(lines).toContain(`[ro.build.version.sdk]: [${phone.props['ro.build.version.sdk']}]`);
    expect(lines.every((l) => /^\[[^\]]+\]: \[.*\]$/.test(l))).toBe(true);
    expect([...lines].sort()).toEqual(lines);
    const one = await shell(
      phone,
      'getprop ro.product.cpu.abi; getprop ro.build.fingerprint; getprop no.such.prop; getprop no.such.prop fallback',
    );
    expect(one.stdout).toBe(
      `${phone.props['ro.product.cpu.abi']}\n${phone.props['ro.build.fingerprint']}\n\nfallback\n`,
    );
    expect(phone.props).toMatchObject({ 'ro.build.version.release': '14', 'ro.build.version.sdk': '34' });
  });

  it('passes arguments through the bridge byte for byte, and never waits for stdin it does not need', async () => {
    const odd = `it's "quoted" $HOME \\ é\n  two lines\t`;
    const r = await shell(phone, `getprop nope '${odd.replace(/'/g, `'\\''`)}'`, undefined, true);
    expect(r.stdout).toBe(`${odd}\n`);
    expect(r.code).toBe(0);
  });

  it('reads /system/build.prop, so an edited build emulates another phone', async () => {
    const root = path.join(dir, 'other');
    const first = await startPhone(root);
    await first.close();
    const file = path.join(first.root, 'system', 'build.prop');
    await fsp.writeFile(
      file,
      (await fsp.readFile(file, 'utf8')).replace(/ro.product.cpu.abi=.*/, 'ro.product.cpu.abi=arm64-v8a'),
    );
    const second = await startPhone(root);
    try {
      expect(second.props['ro.product.cpu.abi']).toBe('arm64-v8a');
      expect((await shell(second, 'getprop ro.product.cpu.abi')).stdout).toBe('arm64-v8a\n');
    } finally {
      await second.close();
    }
  });
});

describe('restorecon and cmd', () => {
  it('restorecon succeeds silently on existing paths and fails on missing ones, as toybox does', async () => {
    expect(await shell(phone, 'restorecon -R -F /data/user/0 /data/local/tmp')).toEqual({
      stdout: '',
      stderr: '',
      code: 0,
    });
    const missing = await shell(phone, 'restorecon -F /data/user/0/com.nope');
    expect(missing).toMatchObject({
      code: 1,
      stderr: 'restorecon: restorecon failed: /data/user/0/com.nope: No such file or directory\n',
    });
  });

  it('chcon checks the context and the paths, then succeeds silently', async () => {
    expect(await shell(phone, 'chcon -hR u:object_r:app_data_file:s0:c512,c768 /data/local/tmp')).toEqual({
      stdout: '',
      stderr: '',
      code: 0,
    });
    expect((await shell(phone, 'chcon -R "bad context" /data/local/tmp')).code).toBe(1);
    expect((await shell(phone, 'chcon u:object_r:app_data_file:s0 /nope')).code).toBe(1);
    await shell(phone, 'restorecon -RF /data/local/tmp');
  });

  it('cmd reports unknown services like Android', async () => {
    expect(await shell(phone, 'cmd nosuchservice')).toEqual({
      stdout: '',
      stderr: "cmd: Can't find service: nosuchservice\n",
      code: 20,
    });
  });
});
