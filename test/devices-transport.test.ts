import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AdbConnection } from '../src/devices/adb/adb-connection.ts';
import { loadOrCreateKey } from '../src/devices/adb/adb-key.ts';
import { connectAdb, connectAdbTransport } from '../src/devices/adb/connect.ts';
import { openExec } from '../src/devices/adb/exec.ts';
import { runShell, spawnShell } from '../src/devices/adb/shell.ts';
import { SyncSession } from '../src/devices/adb/sync.ts';
import { type Emulator, startEmulator } from '../src/emulator/emulator.ts';
import { startTap, type Tap } from './helpers/tcp-tap.ts';

// The transport under stress and at its edges: RSA AUTH, shell v2 / exec / sync services,
// back-pressure on a 200 MB stream, and a device that disappears mid-stream.

const work = mkdtempSync(join(tmpdir(), 'devices-transport-'));
const keyDir = join(work, 'keys');
let emulator: Emulator;
let conn: AdbConnection;

beforeAll(async () => {
  // the AUTH-enforcing phone trusts exactly our key
  await loadOrCreateKey(keyDir);
  emulator = await startEmulator({ root: join(work, 'auth-phone'), port: 0, authKeyFile: join(keyDir, 'adbkey.pub') });
  conn = await connectAdbTransport(emulator.address, { keyDir });
});

afterAll(async () => {
  await conn?.close();
  await emulator?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('ADB AUTH', () => {
  it('is accepted with our key and refused, with a clear error, with any other', async () => {
    const device = await connectAdb(emulator.address, { keyDir });
    // no seed apps: only the system image's launcher
    expect(await device.listPackages()).toEqual(['com.example.launcher']);
    await device.close();
    const started = Date.now();
    await expect(connectAdb(emulator.address, { keyDir: join(work, 'other-keys'), timeoutMs: 1500 })).rejects.toThrow(
      /device unauthorized/,
    );
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('fails fast and clearly when nothing listens', async () => {
    await expect(connectAdb('127.0.0.1:1', { keyDir, timeoutMs: 2000 })).rejects.toThrow(/ECONNREFUSED/);
  });
});

describe('services', () => {
  it('shell v2: stdin, stdout, stderr and the exit code; abort stops a stream and keeps the connection', async () => {
    const r = await runShell(conn, 'cat; echo oops >&2; exit 4', { stdin: Readable.from([Buffer.from('abc')]) });
    expect(r).toEqual({ exitCode: 4, stdout: 'abc', stderr: 'oops' });

    const controller = new AbortController();
    const endless = spawnShell(conn, 'cat /dev/zero', { signal: controller.signal });
    await expect(
      (async () => {
        for await (const _ of endless.stdout) controller.abort(new Error('enough'));
      })(),
    ).rejects.toThrow('enough');
    await expect(endless.exit).rejects.toThrow('enough');
    expect((await runShell(conn, 'echo still here')).stdout).toBe('still here\n');
  });

  it('sync: push a file and a link, stat, list and pull them; exec: binary stdout and stdin', async () => {
    const data = randomFillSync(Buffer.alloc(300_000));
    const sync = await SyncSession.open(conn);
    await sync.push('/data/local/tmp/pushed.bin', Readable.from([data]), { mode: 0o100640, mtime: 1_600_000_000 });
    await sync.push('/data/local/tmp/link', Readable.from([Buffer.from('pushed.bin')]), {
      mode: 0o120777,
      mtime: 1_600_000_000,
    });
    const hostFile = join(emulator.phone.root, 'data/local/tmp/pushed.bin');
    expect(readFileSync(hostFile).equals(data)).toBe(true);
    // adbd copies the user bits to group and other (do_send), so 0640 lands as 0666
    expect(lstatSync(hostFile).mode & 0o7777).toBe(0o666);
    expect(lstatSync(hostFile).mtimeMs).toBe(1_600_000_000_000);
    expect(readlinkSync(join(emulator.phone.root, 'data/local/tmp/link'))).toBe('pushed.bin');
    expect(await sync.stat('/data/local/tmp/pushed.bin')).toMatchObject({ size: 300_000, mtime: 1_600_000_000 });
    expect(await sync.stat('/data/local/tmp/missing')).toBeNull();
    const names = (await sync.list('/data/local/tmp')).map((e) => `${e.name}:${e.mode >> 12}`);
    expect(names).toEqual(expect.arrayContaining(['pushed.bin:8', 'link:10']));
    expect((await collect(sync.pull('/data/local/tmp/pushed.bin'))).equals(data)).toBe(true);
    await sync.close();

    const cat = await openExec(conn, 'cat /data/local/tmp/pushed.bin');
    expect((await collect(cat)).equals(data)).toBe(true);
    const head = await openExec(conn, 'head -c 5');
    head.write('hello world');
    expect((await collect(head)).toString()).toBe('hello');
  });
});

describe('a 200 MB stream', () => {
  const files = 50;
  const size = 4 * 1024 * 1024;
  const hashes = new Map<string, string>();
  let child: ChildProcess;
  let tap: Tap;

  beforeAll(async () => {
    // the phone runs in its own process, so this process's memory is the device layer's alone
    const root = join(work, 'big-phone');
    mkdirSync(join(root, 'data/local/tmp/big'), { recursive: true });
    const block = Buffer.alloc(size);
    for (let i = 0; i < files; i++) {
      randomFillSync(block);
      writeFileSync(join(root, `data/local/tmp/big/f${i}.bin`), block);
      hashes.set(`./f${i}.bin`, createHash('sha256').update(block).digest('hex'));
    }
    const cli = join(import.meta.dirname, '..', 'bin', 'cloudphone-backup.js');
    child = spawn(process.execPath, [cli, 'emulator', '--root', root, '--port', '0'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const port = await new Promise<number>((resolve) => {
      let out = '';
      child.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /listening on [\d.]+:(\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
    });
    tap = await startTap(port);
  });

  afterAll(async () => {
    await tap?.close();
    child?.kill('SIGKILL');
  });

  it('stays bounded in memory for a slow consumer, and arrives intact', async () => {
    const device = await connectAdb(`127.0.0.1:${tap.port}`, { keyDir });
    let consumed = 0;
    let maxInFlight = 0;
    const rssAtStart = process.memoryUsage().rss;
    let maxRss = rssAtStart;
    const pace = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        const before = consumed;
        consumed += chunk.length;
        maxInFlight = Math.max(maxInFlight, tap.fromDevice - consumed);
        const rss = process.memoryUsage().rss;
        maxRss = Math.max(maxRss, rss);
        // a consumer slower than the device: a pause every 8 MiB
        if (Math.floor(consumed / (8 << 20)) !== Math.floor(before / (8 << 20))) setTimeout(() => cb(null, chunk), 30);
        else setImmediate(() => cb(null, chunk));
      },
    });
    const got = new Map<string, string>();
    const untar = extract();
    untar.on('entry', (header, stream, next) => {
      const hash = createHash('sha256');
      stream.on('data', (d: unknown) => {
        hash.update(d as Buffer);
      });
      stream.on('end', () => {
        if (header.type === 'file') got.set(header.name, hash.digest('hex'));
        next();
      });
    });
    await pipeline(device.tarOut('/data/local/tmp/big'), pace, untar);
    await device.close();
    console.log(
      `200 MB tarOut: ${(consumed / 1e6).toFixed(1)} MB, max in flight ${(maxInFlight / 1e6).toFixed(2)} MB, ` +
        `RSS growth ${((maxRss - rssAtStart) / 1e6).toFixed(1)} MB`,
    );
    expect(got).toEqual(hashes);
    expect(consumed).toBeGreaterThan(files * size);
    // device bytes received but not yet consumed: one WRTE (≤ 1 MiB) plus socket and stream buffers
    expect(maxInFlight).toBeLessThan(4 << 20);
    // RSS moves with GC timing (garbage 1 MiB chunks wait for a collection), so it only gets a
    // sanity bound; without back-pressure it passes 100 MB here and grows with the stream
    expect(maxRss - rssAtStart).toBeLessThan(64 << 20);
  });

  it('errors clearly within seconds, never hangs, when the device disappears mid-stream', async () => {
    const device = await connectAdb(`127.0.0.1:${tap.port}`, { keyDir });
    let consumed = 0;
    let killedAt = 0;
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        consumed += chunk.length;
        if (consumed > 20 << 20 && !killedAt) {
          killedAt = Date.now();
          child.kill('SIGKILL');
        }
        setImmediate(cb);
      },
    });
    await expect(pipeline(device.tarOut('/data/local/tmp/big'), sink)).rejects.toThrow(
      /device 127\.0\.0\.1:\d+ disconnected/,
    );
    expect(Date.now() - killedAt).toBeLessThan(5000);
    expect(consumed).toBeLessThan(files * size);
    await expect(device.listPackages()).rejects.toThrow(/disconnected/);
  });
});

function collect(stream: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (d: Buffer) => chunks.push(d));
    stream.on('error', reject);
    stream.on('end', () => resolve(Buffer.concat(chunks)));
  });
}
