import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, readdirSync, readFileSync } from 'node:fs';
import {
  chmod,
  lstat,
  mkdir,
  mkdtemp,
  readFile,
  readlink,
  rm,
  stat,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../src/emulator/emulator.ts';

// Drives the real Debian `adb` client against the emulated phone, through a private adb server.

let work: string;
let emulator: Emulator;
let server: AdbServer;
let serial: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'emulator-adb-'));
  emulator = await startEmulator({ root: join(work, 'phone'), port: 0 });
  serial = emulator.address;
  server = await AdbServer.start(join(work, 'home'));
  const connect = await server.run(['connect', serial]);
  expect(connect.stdout.toString()).toContain(`connected to ${serial}`);
});

afterAll(async () => {
  await server?.stop();
  await emulator?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

const phonePath = (p: string) => join(emulator.phone.root, p);

describe('emulated adbd with the real adb client', () => {
  it('is listed as a device with the phone properties in its banner', async () => {
    const { stdout } = await server.run(['devices', '-l']);
    const line = stdout
      .toString()
      .split('\n')
      .find((l) => l.startsWith(serial));
    expect(line).toMatch(/\sdevice\s/);
    // adb shows the banner's values with spaces turned into underscores
    const model = (emulator.phone.props['ro.product.model'] ?? '').replace(/\s/g, '_');
    expect(line).toContain(`model:${model}`);
  });

  it('runs shell commands with the exit code and stderr kept apart (shell v2)', async () => {
    const r = await server.run(['-s', serial, 'shell', 'echo out; echo err >&2; exit 3']);
    expect(r.code).toBe(3);
    expect(r.stdout.toString()).toBe('out\n');
    expect(r.stderr.toString()).toBe('err\n');
    const ok = await server.run(['-s', serial, 'shell', 'echo "$0"']);
    expect(ok.code).toBe(0);
    // without the shell protocol (-x): one merged stream and no exit code, as with old adbd
    const raw = await server.run(['-s', serial, 'shell', '-x', 'echo out; echo err >&2; exit 3']);
    expect(raw.code).toBe(0);
    expect(raw.stdout.toString()).toBe('out\nerr\n');
    // no command: a shell reading the host's stdin, closed by the v2 close-stdin packet
    const interactive = await server.run(['-s', serial, 'shell'], 'echo typed; exit 4\n');
    expect(interactive.code).toBe(4);
    expect(interactive.stdout.toString()).toBe('typed\n');
  });

  it('streams a 50 MB file byte-identical through exec-out', async () => {
    const big = randomBytes(1024 * 1024);
    await mkdir(phonePath('data/local/tmp'), { recursive: true });
    const parts = Array.from({ length: 50 }, (_, i) => Buffer.concat([Buffer.from(String(i)), big]));
    await writeFile(phonePath('data/local/tmp/big.bin'), parts);
    const expected = await sha256(createReadStream(phonePath('data/local/tmp/big.bin')));
    const started = Date.now();
    const got = await server.pipe(['-s', serial, 'exec-out', 'cat /data/local/tmp/big.bin']);
    expect(got.digest).toBe(expected);
    expect(got.bytes).toBe((await stat(phonePath('data/local/tmp/big.bin'))).size);
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('gives exec-out tar the same bytes as the phone shell itself', async () => {
    const tree = phonePath('data/local/tmp/tree');
    await mkdir(join(tree, 'sub'), { recursive: true });
    await writeFile(join(tree, 'sub/a.txt'), 'alpha\n');
    await writeFile(join(tree, 'b.bin'), randomBytes(300_000));
    await symlink('sub/a.txt', join(tree, 'link'));
    const command = 'tar -cf - -C /data/local/tmp/tree .';
    const viaAdb = await server.pipe(['-s', serial, 'exec-out', command]);
    const child = emulator.phone.spawnShell(command);
    child.stderr.resume();
    const direct = await sha256(child.stdout);
    expect(viaAdb.bytes).toBeGreaterThan(300_000);
    expect(viaAdb.digest).toBe(direct);
  });

  it('pushes a folder with a symlink (content, adbd modes, mtime, link target) and pulls it back', async () => {
    const local = join(work, 'upload');
    await mkdir(join(local, 'bin'), { recursive: true });
    const payload = randomBytes(200_000);
    await writeFile(join(local, 'bin/data.bin'), payload);
    await chmod(join(local, 'bin/data.bin'), 0o640);
    await writeFile(join(local, 'run.sh'), '#!/system/bin/sh\necho run\n');
    await chmod(join(local, 'run.sh'), 0o750);
    await utimes(join(local, 'run.sh'), 1_600_000_000, 1_600_000_000);
    await symlink('bin/data.bin', join(local, 'current'));
    const push = await server.run(['-s', serial, 'push', local, '/data/local/tmp/']);
    expect(push.code, push.stderr.toString()).toBe(0);

    const remote = phonePath('data/local/tmp/upload');
    expect((await readFile(join(remote, 'bin/data.bin'))).equals(payload)).toBe(true);
    // adbd copies the owner's bits to group and others
    expect((await stat(join(remote, 'bin/data.bin'))).mode & 0o777).toBe(0o666);
    expect((await stat(join(remote, 'run.sh'))).mode & 0o777).toBe(0o777);
    expect((await stat(join(remote, 'run.sh'))).mtimeMs).toBe(1_600_000_000_000);
    expect((await lstat(join(remote, 'current'))).isSymbolicLink()).toBe(true);
    expect(await readlink(join(remote, 'current'))).toBe('bin/data.bin');
    const viaShell = await server.run(['-s', serial, 'shell', 'readlink /data/local/tmp/upload/current']);
    expect(viaShell.stdout.toString().trim()).toBe('bin/data.bin');

    const back = join(work, 'download');
    const pull = await server.run(['-s', serial, 'pull', '/data/local/tmp/upload', back]);
    expect(pull.code, pull.stderr.toString()).toBe(0);
    expect((await readFile(join(back, 'bin/data.bin'))).equals(payload)).toBe(true);
    expect(await readFile(join(back, 'run.sh'), 'utf8')).toBe('#!/system/bin/sh\necho run\n');
    // adb pull follows links, as with a real phone
    expect((await readFile(join(back, 'current'))).equals(payload)).toBe(true);

    const one = await server.run(['-s', serial, 'pull', '/data/local/tmp/big.bin', join(work, 'big.bin')]);
    expect(one.code).toBe(0);
    expect(await sha256(createReadStream(join(work, 'big.bin')))).toBe(
      await sha256(createReadStream(phonePath('data/local/tmp/big.bin'))),
    );
  });

  it('installs a split APK set with adb install-multiple (exec:pm install-create/-write/-commit)', async () => {
    const apks = ['gallery-base.apk', 'gallery-config.xxhdpi.apk'].map((f) => join('fixtures/apks', f));
    const install = await server.run(['-s', serial, 'install-multiple', ...apks]);
    expect(install.code, install.stderr.toString()).toBe(0);
    expect(install.stdout.toString()).toContain('Success');
    const list = await server.run(['-s', serial, 'shell', 'pm list packages']);
    expect(list.stdout.toString().split('\n')).toContain('package:com.example.gallery');
    const paths = await server.run(['-s', serial, 'shell', 'pm path com.example.gallery']);
    expect(paths.stdout.toString()).toMatch(/base\.apk\n.*split_config\.xxhdpi\.apk\n$/s);
  });

  it('keeps sync inside the phone folder, whatever links and .. say', async () => {
    const hostPasswd = readFileSync('/etc/passwd');
    const tmp = phonePath('data/local/tmp');
    await symlink('/etc', join(tmp, 'etc-link'));
    await symlink('/etc/passwd', join(tmp, 'passwd-link'));
    await symlink('../../../../../../../../../etc/passwd', join(tmp, 'dotdot-link'));
    const attempts = [
      '/data/local/tmp/etc-link/passwd',
      '/data/local/tmp/passwd-link',
      '/data/local/tmp/dotdot-link',
      '/../../../../etc/passwd',
      '/data/../../../../etc/passwd',
    ];
    // Every one of these names the phone's own /etc/passwd (its /etc links to /system/etc).
    const phonePasswd = readFileSync(phonePath('system/etc/passwd'));
    expect(phonePasswd.equals(hostPasswd)).toBe(false);
    for (const [i, remote] of attempts.entries()) {
      const dest = join(work, `leak-${i}`);
      const r = await server.run(['-s', serial, 'pull', remote, dest]);
      expect(r.code, `${remote}: ${r.stderr}`).toBe(0);
      expect(readFileSync(dest).equals(phonePasswd), remote).toBe(true);
    }
    const marker = `adb-escape-${process.pid}`;
    await writeFile(join(work, marker), 'x');
    await server.run(['-s', serial, 'push', join(work, marker), `/data/local/tmp/etc-link/${marker}`]);
    await server.run(['-s', serial, 'push', join(work, marker), `/../../../tmp/${marker}`]);
    expect(existsSync(phonePath(`system/etc/${marker}`))).toBe(true);
    expect(existsSync(phonePath(`tmp/${marker}`))).toBe(true);
    expect(existsSync(`/etc/${marker}`)).toBe(false);
    expect(existsSync(`/tmp/${marker}`)).toBe(false);
  });

  it('kills the shell child when the host side goes away', async () => {
    const token = `31.${process.pid % 1000}${Date.now() % 1000}`;
    const client = spawn('adb', ['-P', String(server.port), '-s', serial, 'shell', `sleep ${token}`], {
      env: server.env,
      stdio: 'ignore',
    });
    await until(() => processesWith(`sleep ${token}`) > 0, 5_000);
    client.kill('SIGKILL');
    await until(() => processesWith(`sleep ${token}`) === 0, 6_000);
  });
});

describe('emulated adbd with AUTH', () => {
  let secured: Emulator;
  let trusted: AdbServer;
  let stranger: AdbServer;

  beforeAll(async () => {
    await mkdir(join(work, 'keys'));
    const keygen = await server.run(['keygen', join(work, 'keys/adbkey')]);
    expect(keygen.code).toBe(0);
    secured = await startEmulator({
      root: join(work, 'phone-auth'),
      port: 0,
      authKeyFile: join(work, 'keys/adbkey.pub'),
    });
    // The trusted server first offers its own (unknown) key, so the daemon must let it retry.
    trusted = await AdbServer.start(join(work, 'home-trusted'), { ADB_VENDOR_KEYS: join(work, 'keys/adbkey') });
    stranger = await AdbServer.start(join(work, 'home-stranger'));
  });

  afterAll(async () => {
    await trusted?.stop();
    await stranger?.stop();
    await secured?.close();
  });

  it('lets in the host holding the key', async () => {
    const connect = await trusted.run(['connect', secured.address]);
    expect(connect.stdout.toString()).toContain(`connected to ${secured.address}`);
    const r = await trusted.run(['-s', secured.address, 'shell', 'echo in']);
    expect(r.code, r.stderr.toString()).toBe(0);
    expect(r.stdout.toString()).toBe('in\n');
  });

  it('keeps a host with another key unauthorized', async () => {
    const connect = await stranger.run(['connect', secured.address]);
    expect(connect.stdout.toString()).not.toContain(`connected to ${secured.address}`);
    const devices = await stranger.run(['devices']);
    expect(devices.stdout.toString()).toContain(`${secured.address}\tunauthorized`);
    const r = await stranger.run(['-s', secured.address, 'shell', 'echo in']);
    expect(r.code).not.toBe(0);
    expect(r.stdout.toString()).toBe('');
  });
});

// --- helpers ---------------------------------------------------------------------------------

interface Run {
  code: number;
  stdout: Buffer;
  stderr: Buffer;
}

class AdbServer {
  private constructor(
    readonly port: number,
    readonly env: NodeJS.ProcessEnv,
  ) {}

  static async start(home: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<AdbServer> {
    await mkdir(home, { recursive: true });
    const { ANDROID_SDK_HOME: _a, ANDROID_ADB_SERVER_PORT: _b, ADB_VENDOR_KEYS: _c, ...rest } = process.env;
    const server = new AdbServer(await freePort(), { ...rest, HOME: home, ...extraEnv });
    const started = await server.run(['start-server']);
    if (started.code !== 0) throw new Error(`adb start-server: ${started.stderr}`);
    return server;
  }

  run(args: string[], stdin = ''): Promise<Run> {
    return new Promise((resolve, reject) => {
      const child = spawn('adb', ['-P', String(this.port), ...args], { env: this.env });
      child.stdin.end(stdin);
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (d: Buffer) => out.push(d));
      child.stderr.on('data', (d: Buffer) => err.push(d));
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code: code ?? -1, stdout: Buffer.concat(out), stderr: Buffer.concat(err) });
      });
    });
  }

  /** runs adb and hashes its stdout as it streams */
  async pipe(args: string[]): Promise<{ digest: string; bytes: number }> {
    const child = spawn('adb', ['-P', String(this.port), ...args], { env: this.env });
    child.stderr.resume();
    let bytes = 0;
    child.stdout.on('data', (d: Buffer) => {
      bytes += d.length;
    });
    const [digest, code] = await Promise.all([
      sha256(child.stdout),
      new Promise<number | null>((resolve) => child.on('close', resolve)),
    ]);
    expect(code).toBe(0);
    return { digest, bytes };
  }

  async stop(): Promise<void> {
    await this.run(['kill-server']);
  }
}

async function sha256(source: Readable): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of source) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** how many processes on this host run exactly this command line */
function processesWith(commandLine: string): number {
  let n = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').join(' ').trim();
      if (cmd === commandLine) n++;
    } catch {
      // the process ended while we looked
    }
  }
  return n;
}

async function until(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}
