import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  createReadStream,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeHeader } from '../src/backup/archive/tar-header.ts';
import { describeApps } from '../src/backup/describe-apps.ts';
import { connectAdb } from '../src/devices/adb/connect.ts';
import { type Device, InstallFailed, type PackageInfo } from '../src/devices/device.ts';
import { shell } from '../src/emulator/android/testing.ts';
import { type Emulator, startEmulator } from '../src/emulator/emulator.ts';
import { startTap, type Tap } from './helpers/tcp-tap.ts';

// Every Device method of the ADB implementation against the emulated phone (real adbd wire
// protocol, real sandboxed shell, real package manager with the seed apps).

/** the host's IPv4 addresses of global scope: the emulated phone's network is the host's */
const hostIpv4 = () =>
  Object.values(networkInterfaces())
    .flat()
    .filter((a) => a?.family === 'IPv4' && !a.internal && !a.address.startsWith('169.254.'))
    .map((a) => a?.address);

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'apks');
const NOTES_CE = '/data/user/0/com.example.notes';

let emulator: Emulator;
let tap: Tap;
let device: Device;
let root: string;
const host = (path: string) => join(root, path);

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'devices-adb-'));
  emulator = await startEmulator({ root, port: 0, seedApps: true });
  tap = await startTap(emulator.port);
  device = await connectAdb(`127.0.0.1:${tap.port}`, { keyDir: mkdtempSync(join(tmpdir(), 'devices-keys-')) });
});

afterAll(async () => {
  await device?.close();
  await tap?.close();
  await emulator?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('AdbDevice', () => {
  it('reads properties and the package list', async () => {
    const props = emulator.phone.props;
    expect(await device.properties()).toEqual({
      androidVersion: props['ro.build.version.release'],
      sdk: Number(props['ro.build.version.sdk']),
      abi: props['ro.product.cpu.abi'],
      fingerprint: props['ro.build.fingerprint'],
      ceAvailable: true,
      // the emulated phone runs on the host's CPUs and memory (its /proc is the host's)
      cpuCount: readFileSync('/proc/cpuinfo', 'utf8').match(/^processor\s*:/gm)?.length,
      memoryMb: Math.floor(Number(/^MemTotal:\s+(\d+) kB$/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1]) / 1024),
      display: { width: 720, height: 1280, dpi: 320 },
      networkIp: expect.toBeOneOf([null, ...hostIpv4()]),
    });
    expect(await device.listPackages()).toEqual([
      'com.example.gallery',
      'com.example.launcher',
      'com.example.notes',
      'com.example.sync',
      'com.example.sync.plugin',
    ]);
  });

  it('describes an installed package and returns null for an unknown one', async () => {
    const info = await device.packageInfo('com.example.gallery');
    expect(info).toMatchObject({ name: 'com.example.gallery', versionCode: 7, versionName: '2.0' });
    expect(info?.apks.map((a) => a.name)).toEqual(['base.apk', 'split_config.xxhdpi.apk']);
    for (const apk of info?.apks ?? []) expect(apk.size).toBe(statSync(host(apk.path)).size);
    expect(info?.uid).toBe(statSync(host('/data/user/0/com.example.gallery')).uid);
    expect(info?.dataDirs).toEqual({
      ce: '/data/user/0/com.example.gallery',
      de: '/data/user_de/0/com.example.gallery',
      external: '/data/media/0/Android/data/com.example.gallery',
      obb: '/data/media/0/Android/obb/com.example.gallery',
      media: '/data/media/0/Android/media/com.example.gallery',
    });
    expect(granted(await device.packageInfo('com.example.notes'))).toEqual(['android.permission.CAMERA']);
    expect(await device.packageInfo('com.example.missing')).toBeNull();
  });

  it('force-stops, suspends and resumes an app', async () => {
    const state = async () => (await shell(emulator.phone, 'dumpsys package com.example.notes')).stdout;
    await device.forceStop('com.example.notes');
    expect(await state()).toMatch(/User 0:.* suspended=false .*stopped=true/);
    expect(await device.suspend('com.example.notes')).toBe(true);
    expect(await state()).toMatch(/User 0:.* suspended=true /);
    expect((await device.packageInfo('com.example.notes'))?.suspended).toBe(true);
    await device.unsuspend('com.example.notes');
    expect(await state()).toMatch(/User 0:.* suspended=false /);
  });

  it('checks existence, usage and owners', async () => {
    expect(await device.exists(NOTES_CE)).toBe(true);
    expect(await device.exists(`${NOTES_CE}/files/latest`)).toBe(true); // a symlink
    expect(await device.exists('/data/user/0/com.example.missing')).toBe(false);
    expect(await device.usage(NOTES_CE)).toBeGreaterThan(11 * 1024 * 1024);
    expect(await device.usage('/data/user/0/com.example.missing')).toBe(0);
    const st = lstatSync(host('/data/media/0/Android/data/com.example.notes'));
    expect(await device.owner('/data/media/0/Android/data/com.example.notes')).toEqual({
      uid: st.uid,
      gid: st.gid,
      context: (await shell(emulator.phone, 'ls -dZ /data/media/0/Android/data/com.example.notes')).stdout.split(
        ' ',
      )[0],
    });
    expect((await device.owner(NOTES_CE)).context).toMatch(/^u:object_r:app_data_file:s0:c\d+,c\d+,c512,c768$/);
  });

  it('reads a file byte for byte', async () => {
    const path = `${NOTES_CE}/files/blob.bin`;
    expect(await sha256(device.readFile(path))).toBe(await sha256(createReadStream(host(path))));
    await expect(sha256(device.readFile(`${NOTES_CE}/files/nope`))).rejects.toThrow(/nope.*No such file/);
  });

  it("reads a file's tail without its other bytes crossing the wire", async () => {
    const path = `${NOTES_CE}/files/blob.bin`;
    const whole = readFileSync(host(path));
    const collect = async (r: Readable) => Buffer.concat(await r.toArray());
    const before = tap.fromDevice;
    expect((await collect(device.readTail(path, 1000))).equals(whole.subarray(whole.length - 1000))).toBe(true);
    // the answer, its framing and the exit status: far less than the file
    expect(tap.fromDevice - before).toBeLessThan(1000 + 512);
    expect(whole.length).toBeGreaterThan(10_000);
    // asked for more than there is: the whole file
    expect((await collect(device.readTail(path, whole.length + 5))).equals(whole)).toBe(true);
    await expect(collect(device.readTail(`${NOTES_CE}/files/nope`, 10))).rejects.toThrow(/nope/);
  });

  it("a backup's description reads only the base APK's tail for its signer, never the whole APK", async () => {
    const reads: string[] = [];
    const counted = new Proxy(device, {
      get(target, name, receiver) {
        if (name === 'readFile' || name === 'readTail')
          return (path: string, ...rest: unknown[]) => {
            reads.push(`${String(name)} ${path}`);
            return (target[name] as (...a: unknown[]) => Readable).call(target, path, ...rest);
          };
        return Reflect.get(target, name, receiver);
      },
    });
    const { apps, infos } = await describeApps(counted, ['com.example.notes'], new AbortController().signal, () => {});
    const base = infos[0]?.apks.find((a) => a.name === 'base.apk')?.path;
    expect(reads).toEqual([`readTail ${base}`]);
    expect(apps[0]?.signerDigest).toMatch(/^[0-9a-f]{64}$/);
  });

  it('streams a folder as tar, byte-identical to tar run on the phone; a missing folder errors with stderr', async () => {
    const direct = emulator.phone.spawnShell(`tar -cf - -C ${NOTES_CE} .`).stdout;
    expect(await sha256(device.tarOut(NOTES_CE))).toBe(await sha256(direct));
    await expect(sha256(device.tarOut('/data/user/0/com.example.missing'))).rejects.toThrow(
      /exited with \d+: .*com\.example\.missing/,
    );
  });

  it('lists names by prefix in several folders with one command, a missing folder as none', async () => {
    for (const [dir, names] of [
      ['/data/local/tmp/names-a', ['.cpb-1', '.cpb- two', 'other']],
      ['/data/local/tmp/names-c', ['.cpb-3']],
    ] as const) {
      mkdirSync(host(`${dir}/${names[0]}`), { recursive: true });
      for (const n of names.slice(1)) mkdirSync(host(`${dir}/${n}`));
    }
    const got = await device.namesIn(
      ['/data/local/tmp/names-a', '/data/local/tmp/names-missing', '/data/local/tmp/names-c'],
      '.cpb-',
    );
    expect(got.map((names) => [...names].sort())).toEqual([['.cpb- two', '.cpb-1'], [], ['.cpb-3']]);
  });

  it("reports a folder's bytes as usage does, and none for a missing folder", async () => {
    expect((await device.folderFacts(NOTES_CE))?.bytes).toBe(await device.usage(NOTES_CE));
    expect(await device.folderFacts('/data/local/tmp/no-such-folder')).toBeNull();
  });

  it('lists the sockets tar cannot carry and streams the rest of the folder', async () => {
    const dir = '/data/local/tmp/with-socket';
    mkdirSync(host(`${dir}/sub`), { recursive: true });
    const server = createServer().listen(host(`${dir}/sub/live.sock`));
    await new Promise((r) => server.once('listening', r));
    try {
      expect(await device.folderFacts(dir)).toEqual({ bytes: expect.any(Number), sockets: ['sub/live.sock'] });
      const copy = '/data/local/tmp/socket-copy';
      await device.tarIn(copy, device.tarOut(dir));
      expect(existsSync(host(`${copy}/sub`))).toBe(true);
      expect(existsSync(host(`${copy}/sub/live.sock`))).toBe(false);
    } finally {
      server.close();
    }
  });

  it('a tar whose input fails has exited when tarIn rejects, with the input error', async () => {
    const dir = '/data/local/tmp/input-fails';
    const header = encodeHeader({
      path: './big.bin',
      type: 'file',
      mode: 0o600,
      uid: 0,
      gid: 0,
      size: 4 * 1024 * 1024,
      mtime: 0,
      linkpath: '',
    });
    const input = Readable.from(
      (async function* () {
        yield header;
        yield Buffer.alloc(2 * 1024 * 1024);
        throw new Error('an entry was refused');
      })(),
    );
    await expect(device.tarIn(dir, input)).rejects.toThrow('an entry was refused');
    // the phone's tar is gone: whatever it wrote stays as it is for the caller to remove
    const running = spawnSync('pgrep', ['-f', `tar -xf - -C '${dir}'`]);
    expect(running.status, running.stdout.toString()).toBe(1);
  });

  it('extracts a tar stream keeping modes, mtimes and links, then chowns, relabels, counts and moves', async () => {
    const target = '/data/local/tmp/restored/ce';
    await device.tarIn(target, device.tarOut(NOTES_CE));
    const source = tree(host(NOTES_CE));
    expect(Object.keys(source).length).toBeGreaterThan(15);
    expect(tree(host(target))).toEqual(source);
    expect(readlinkSync(host(`${target}/files/latest`))).toBe('notes/2023/03/pi-day.txt');

    await device.chownTree(target, 12345, 23456);
    for (const entry of Object.keys(source)) {
      const st = lstatSync(host(`${target}/${entry}`));
      expect([entry, st.uid, st.gid]).toEqual([entry, 12345, 23456]);
    }
    await device.relabel(target, 'u:object_r:shell_data_file:s0');
    expect((await device.owner(`${target}/files/latest`)).context).toBe('u:object_r:shell_data_file:s0');
    expect(await device.countEntries(target)).toBe(Object.keys(source).length + 1);
    expect(await device.move(target, '/data/local/tmp/restored/moved')).toBe(true);
    expect(await device.move(target, '/data/local/tmp/restored/moved')).toBe(false);
    expect(tree(host('/data/local/tmp/restored/moved'))).toEqual(tree(host(NOTES_CE)));
    await device.tarIn(target, device.tarOut(NOTES_CE));
    // never into an existing folder
    await expect(device.move(target, '/data/local/tmp/restored/moved')).rejects.toThrow(/destination exists/);
    await device.remove('/data/local/tmp/restored/moved');
    expect(existsSync(host('/data/local/tmp/restored/moved'))).toBe(false);
    // several at once, a missing one among them
    mkdirSync(host('/data/local/tmp/rm-a/x'), { recursive: true });
    mkdirSync(host('/data/local/tmp/rm b'));
    await device.remove('/data/local/tmp/rm-a', '/data/local/tmp/rm-missing', '/data/local/tmp/rm b');
    expect([existsSync(host('/data/local/tmp/rm-a')), existsSync(host('/data/local/tmp/rm b'))]).toEqual([
      false,
      false,
    ]);

    await expect(device.tarIn(target, Readable.from([Buffer.alloc(1024, 7)]))).rejects.toThrow(/tar -xf .* exited/);
  });

  it('installs an APK set from the phone in one session for user 0, uninstalls, and surfaces pm failures', async () => {
    mkdirSync(host('/data/local/tmp/apks'), { recursive: true });
    const apk = (file: string, name = file) => {
      copyFileSync(join(FIXTURES, file), host(`/data/local/tmp/apks/${file}`));
      return { name, size: statSync(join(FIXTURES, file)).size, path: `/data/local/tmp/apks/${file}` };
    };
    await device.uninstall('com.example.gallery');
    expect(await device.packageInfo('com.example.gallery')).toBeNull();
    expect(await device.isInstalled('com.example.gallery')).toBe(false);
    await expect(device.uninstall('com.example.gallery')).rejects.toThrow(/Failure|exited/);

    await device.install([apk('gallery-base.apk', 'base.apk'), apk('gallery-config.xxhdpi.apk')]);
    const info = await device.packageInfo('com.example.gallery');
    expect(info?.apks.map((a) => a.name)).toEqual(['base.apk', 'split_config.xxhdpi.apk']);
    expect(await device.isInstalled('com.example.gallery')).toBe(true);

    const refused = await device.install([apk('notes-other-key.apk', 'base.apk')]).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(InstallFailed);
    expect((refused as InstallFailed).failureCode).toBe('INSTALL_FAILED_UPDATE_INCOMPATIBLE');
    // a missing APK fails install-write; the session is abandoned, no staging folder is left
    const missing = { name: 'base.apk', size: 100_000, path: '/data/local/tmp/apks/none.apk' };
    await expect(device.install([missing])).rejects.toThrow(/install-write/);
    expect(readdirSync(host('/data/app')).filter((n) => n.startsWith('vmdl'))).toEqual([]);
  });

  it('grants a runtime permission', async () => {
    await device.grantPermission('com.example.notes', 'android.permission.READ_CONTACTS');
    expect(granted(await device.packageInfo('com.example.notes'))).toEqual([
      'android.permission.CAMERA',
      'android.permission.READ_CONTACTS',
    ]);
  });

  it('refuses invalid values before anything is sent to the device', async () => {
    const before = tap.fromClient;
    const evil = ["com.example.notes'; reboot; '", 'com.example.notes;id', '$(reboot)', 'notes', 'com.x\n.y'];
    for (const pkg of evil) {
      for (const call of [
        () => device.packageInfo(pkg),
        () => device.forceStop(pkg),
        () => device.suspend(pkg),
        () => device.unsuspend(pkg),
        () => device.uninstall(pkg),
        () => device.grantPermission(pkg, 'android.permission.CAMERA'),
        () => device.grantPermission('com.example.notes', pkg),
      ]) {
        await expect(call()).rejects.toMatchObject({ code: 'InvalidParameter' });
      }
    }
    for (const path of ['/data/../etc/passwd', 'relative', '/data/a\nb', '/data/./x', '/data/x\0y']) {
      expect(() => device.tarOut(path)).toThrow(/Path/);
      expect(() => device.readFile(path)).toThrow(/Path/);
      for (const call of [
        () => device.exists(path),
        () => device.usage(path),
        () => device.owner(path),
        () => device.tarIn(path, Readable.from([])),
        () => device.chownTree(path, 1, 1),
        () => device.relabel(path),
        () => device.countEntries(path),
        () => device.folderFacts(path),
        () => device.namesIn(['/data/local/tmp', path], '.cpb-'),
        () => device.move(path, '/data/local/tmp/x'),
        () => device.move('/data/local/tmp/x', path),
        () => device.remove(path),
        () => device.remove('/data/local/tmp/x', path),
      ]) {
        await expect(call()).rejects.toMatchObject({ code: 'InvalidParameter' });
      }
    }
    await expect(device.chownTree('/data/local/tmp', -1, 0)).rejects.toMatchObject({ code: 'InvalidParameter' });
    await expect(device.relabel('/data/local/tmp', "u:r:x:s0'; reboot")).rejects.toMatchObject({
      code: 'InvalidParameter',
    });
    const apk = { name: '../base.apk', size: 1, path: '/data/local/tmp/base.apk' };
    await expect(device.install([apk])).rejects.toMatchObject({ code: 'InvalidParameter' });
    const badPath = { name: 'base.apk', size: 1, path: '/data/local/tmp/../x.apk' };
    await expect(device.install([badPath])).rejects.toMatchObject({ code: 'InvalidParameter' });
    await new Promise((r) => setTimeout(r, 50));
    expect(tap.fromClient).toBe(before);

    // a quote inside a path reaches the device only as one literal, quoted word
    await expect(device.usage("/data/local/tmp/x'; touch /data/local/tmp/pwned; '")).resolves.toBe(0);
    expect(await device.exists('/data/local/tmp/pwned')).toBe(false);
    expect(tap.fromClient).toBeGreaterThan(before);
  });
});

function granted(info: PackageInfo | null): string[] {
  return (info?.runtimePermissions ?? [])
    .filter((p) => p.granted)
    .map((p) => p.name)
    .sort();
}

function sha256(stream: Readable): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    stream.on('data', (d: Buffer) => hash.update(d));
    stream.on('error', reject);
    stream.on('end', () => resolve(hash.digest('hex')));
  });
}

/** relative path → "mode mtime [link]" for every entry under dir */
function tree(dir: string, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(join(dir, prefix)).sort()) {
    const rel = prefix ? `${prefix}/${name}` : name;
    const st = lstatSync(join(dir, rel));
    const link = st.isSymbolicLink() ? ` -> ${readlinkSync(join(dir, rel))}` : '';
    out[rel] = `${st.mode.toString(8)} ${st.isSymbolicLink() ? '' : Math.floor(st.mtimeMs / 1000)}${link}`;
    if (st.isDirectory()) Object.assign(out, tree(dir, rel));
  }
  return out;
}
