import { spawn } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { connectAdb } from '../src/devices/adb/connect.ts';

// Tar-stream throughput from an emulated phone: our device layer (Device.tarOut into a sink)
// next to the real adb client (`adb exec-out 'tar -cf - -C DIR .' | cat > /dev/null`), both
// against the same emulated adbd and the same ~200 MB folder. The emulator runs in a process of
// its own (the CLI), as the adb server does, so neither client shares its event loop with it.

const DIR = '/data/local/tmp/bench';
const FILES = 50;
const FILE_SIZE = 4 * 1024 * 1024;
const ROUNDS = 3;

export async function run(): Promise<string> {
  const work = mkdtempSync(join(tmpdir(), 'adb-bench-'));
  const root = join(work, 'phone');
  mkdirSync(root);
  const folder = join(root, DIR);
  mkdirSync(folder, { recursive: true });
  const block = Buffer.alloc(FILE_SIZE);
  for (let i = 0; i < FILES; i++) writeFileSync(join(folder, `blob-${i}.bin`), randomFillSync(block));
  const bytes = FILES * FILE_SIZE;
  const emulator = await startEmulatorProcess(root);
  const adbPort = await freePort();
  try {
    const device = await connectAdb(emulator.address, { keyDir: join(work, 'keys') });
    const ours: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const started = performance.now();
      let n = 0;
      await pipeline(
        device.tarOut(DIR),
        countingSink((len) => (n += len)),
      );
      ours.push(n / ((performance.now() - started) / 1000));
    }
    await device.close();

    const adb = (args: string[]) => sh('adb', ['-P', String(adbPort), ...args]);
    await adb(['start-server']);
    await adb(['connect', emulator.address]);
    await adb(['-s', emulator.address, 'wait-for-device']);
    const theirs: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const started = performance.now();
      await sh('sh', [
        '-c',
        `adb -P ${adbPort} -s ${emulator.address} exec-out 'tar -cf - -C ${DIR} .' | cat > /dev/null`,
      ]);
      theirs.push(bytes / ((performance.now() - started) / 1000));
    }
    await adb(['kill-server']).catch(() => {});

    const mb = (v: number) => (v / 1e6).toFixed(1);
    const row = (name: string, values: number[]) =>
      `| ${name} | ${mb(median(values))} | ${mb(Math.max(...values))} | ${values.map(mb).join(', ')} |`;
    return [
      `### ADB tar stream throughput (${FILES} × ${FILE_SIZE / 1024 / 1024} MiB = ${mb(bytes)} MB, ${ROUNDS} rounds)`,
      '',
      '| path | median MB/s | best MB/s | all rounds |',
      '| --- | ---: | ---: | --- |',
      row('device layer: `Device.tarOut` → sink', ours),
      row("real adb: `adb exec-out 'tar -cf - …' \\| cat > /dev/null`", theirs),
      '',
    ].join('\n');
  } finally {
    await emulator.close();
    rmSync(work, { recursive: true, force: true });
  }
}

async function startEmulatorProcess(root: string): Promise<{ address: string; close(): Promise<void> }> {
  const cli = join(import.meta.dirname, '..', 'bin', 'cloudphone-backup.js');
  const child = spawn(process.execPath, [cli, 'emulator', '--root', root, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let out = '';
  const address = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (\S+)/.exec(out);
      if (m) resolve(m[1] as string);
    });
    exited.then(() => reject(new Error(`the emulator exited: ${out}`)));
  });
  return {
    address,
    close: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

function countingSink(onBytes: (n: number) => void): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      onBytes(chunk.length);
      cb();
    },
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

function sh(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')}: ${err}`))));
  });
}

/** a free port outside adb's emulator range 5555–5585 */
async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
      });
    });
    if (port < 5555 || port > 5585) return port;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(await run());
}
