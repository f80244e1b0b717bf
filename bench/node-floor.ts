import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { zstdCompress } from '../src/backup/archive/zstd.ts';
import { storeArchive } from '../src/backup/store-archive.ts';
import { FsObjectStore } from '../src/storage/fs-object-store.ts';
import { writeAppData } from './app-data.ts';
import { cpu, cpuSince } from './processes.ts';

// What a Node process spends per GB on a backup stream, step by step, with no phone and no ADB:
// the tar of the 1 GiB bench app (bench/app-data.ts, the same bytes backup-restore.ts backs up)
// arrives over loopback TCP from a sender process (not counted), and the receiver
//   1. reads it, 2. also SHA-256s it, 3. also compresses it (a zstd -3 child, as the service
//   does: src/backup/archive/zstd.ts), SHA-256s the compressed bytes and writes them to a file:
//   the least any backup that hashes what it stores can do in Node;
//   4. runs the service's own tar parser and archive writer on it instead (storeArchive into an
//   fs store: every entry re-rooted, every file SHA-256'd, gathered writes, zstd, digest).
// The raw pipeline's C++ adb client does only step 1; the BackupApp row of backup-restore.ts adds
// the ADB protocol and the task around step 4.

const MIB = Number(process.env.BENCH_FLOOR_MIB ?? 1024);

type Consume = (socket: Readable, dir: string) => Promise<void>;

const read: Consume = async (socket) => {
  for await (const _ of socket);
};

const hashed: Consume = async (socket) => {
  const hash = createHash('sha256');
  for await (const chunk of socket) hash.update(chunk as Buffer);
  hash.digest();
};

const compressed: Consume = async (socket, dir) => {
  const input = createHash('sha256');
  const output = createHash('sha256');
  const z = zstdCompress(3);
  const feed = async function* () {
    for await (const chunk of socket) {
      input.update(chunk as Buffer);
      yield chunk;
    }
  };
  const drain = async function* () {
    for await (const chunk of z.output) {
      output.update(chunk as Buffer);
      yield chunk;
    }
  };
  await Promise.all([pipeline(feed, z.input), pipeline(drain, createWriteStream(join(dir, 'out.zst'))), z.done]);
};

const service: Consume = async (socket, dir) => {
  const store = new FsObjectStore(join(dir, 'store'));
  const opts = { signal: new AbortController().signal, onBytes: () => {} };
  await storeArchive(store, 'bench', `floor-${Date.now()}.tar.zst`, opts, (w) =>
    w.addTree('com.example.notes', 'ce', socket),
  );
};

const STEPS: [string, Consume][] = [
  ['1. read the socket', read],
  ['2. + SHA-256 of every byte', hashed],
  ['3. + zstd -3 child, SHA-256 of its output, file', compressed],
  ["4. the service's tar parser + archive writer (storeArchive, fs store)", service],
];

export async function run(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'cpb-floor-'));
  try {
    const app = join(dir, 'app');
    writeAppData(app, MIB * 2 ** 20, process.getuid?.() ?? 0);
    const tar = join(dir, 'app.tar');
    execFileSync('tar', ['-cf', tar, '-C', app, '.']);
    rmSync(app, { recursive: true });
    const bytes = statSync(tar).size;
    const rows: string[] = [];
    for (const [name, consume] of STEPS) rows.push(`| ${name} | ${await measure(consume, tar, bytes, dir)} |`);
    return [
      '## What Node spends per GB on a backup stream, without phone or ADB (bench/node-floor.ts)',
      '',
      `The tar of the ${MIB} MiB bench app (${(bytes / 1e6).toFixed(0)} MB, bench/app-data.ts: the bytes backup-restore.ts backs up) from a sender process over loopback TCP. CPU-seconds per GB of the receiving Node process and of its zstd child; GC: the main thread's garbage-collection pauses (perf_hooks) and how many were full mark-compacts. Row 3 is the least a backup that hashes what it stores can spend in Node; the raw pipeline's adb client does only row 1. Row 4 is the service's own code on the same stream; BackupApp in the table above adds the ADB protocol and the task.`,
      '',
      '| Receiver does | s | Node CPU-s/GB | zstd CPU-s/GB | GC s/GB | mark-compacts |',
      '|---|---:|---:|---:|---:|---:|',
      ...rows,
      '',
    ].join('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function measure(consume: Consume, tar: string, bytes: number, dir: string): Promise<string> {
  const gc = { ms: 0, full: 0 };
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gc.ms += e.duration;
      // https://nodejs.org/api/perf_hooks.html#performancegcentrydetail
      const kind = (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) gc.full++;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  const { server, port } = await listen();
  const sender = spawn(process.execPath, ['-e', SENDER, String(port), tar], { stdio: 'inherit' });
  try {
    const socket = await new Promise<Readable>((resolve) => server.once('connection', resolve));
    const before = cpu(process.pid);
    const start = performance.now();
    await consume(socket, dir);
    const seconds = (performance.now() - start) / 1000;
    const used = cpuSince(before, cpu(process.pid));
    const perGb = (n: number) => (n / (bytes / 1e9)).toFixed(2);
    return `${seconds.toFixed(1)} | ${perGb(used.self)} | ${perGb(used.children)} | ${perGb(gc.ms / 1000)} | ${gc.full}`;
  } finally {
    observer.disconnect();
    await exited(sender);
    server.close();
  }
}

function listen(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port })),
  );
}

function exited(p: ChildProcess): Promise<void> {
  return p.exitCode !== null ? Promise.resolve() : new Promise((r) => p.once('exit', () => r()));
}

const SENDER = `
const [port, file] = process.argv.slice(1);
const s = require('node:net').connect(Number(port), '127.0.0.1', () => require('node:fs').createReadStream(file).pipe(s));`;

if (import.meta.url === `file://${process.argv[1]}`) process.stdout.write(await run());
