import { type ChildProcess, execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import RPCClient from '@alicloud/pop-core';
import pg from 'pg';
import { report } from './fleet-report.ts';
import { type Fleet, type Round, runRound } from './fleet-round.ts';
import { cli, freePort, reapedCli } from './processes.ts';

// The scale-out shape under load: 10 emulated phones, 2 API-only processes and 1, 2, then 3
// worker-only processes sharing one PostgreSQL database and one data folder (the fs store), and
// 500 BackupApp calls per round, each for one phone, split over both APIs. The per-phone pending
// cap (server.maxPendingTasksPerInstance, default 10) is raised for the bench so that all of a
// round's calls are accepted at once: 500 over 10 phones queues 50 on each.

const BIN = join(import.meta.dirname, '..', 'bin', 'cloudphone-backup.js');
const run$ = promisify(execFile);

export async function run(): Promise<string> {
  const env = process.env;
  const requests = Number(env.BENCH_FLEET_REQUESTS ?? 500);
  const phones = Number(env.BENCH_FLEET_PHONES ?? 10);
  const inFlight = Number(env.BENCH_FLEET_IN_FLIGHT ?? 16);
  const workerCounts = (env.BENCH_FLEET_WORKERS ?? '1,2,3').split(',').map(Number);
  const cap = Math.ceil(requests / phones);
  const admin = env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const dbName = `cpb_fleet_${process.pid}`;
  const url = new URL(admin);
  url.pathname = `/${dbName}`;
  const dir = mkdtempSync(join(tmpdir(), 'cpb-fleet-'));
  const procs: ChildProcess[] = [];
  const warnings: string[] = [];
  await sql(admin, `CREATE DATABASE ${dbName}`);
  try {
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({ server: { maxPendingTasksPerInstance: cap } }));
    const common = ['--data-dir', join(dir, 'data'), '--database-url', url.toString(), '--config', config];
    const setupStart = performance.now();
    const emulators: ChildProcess[] = [];
    const ports = await Promise.all(
      Array.from({ length: phones }, async (_, i) => {
        const port = await freePort();
        const args = ['emulator', '--root', join(dir, `phone${i}`), '--port', String(port), '--seed-apps'];
        const emu = reapedCli(args, procs);
        emulators.push(emu);
        await ready(emu, /listening on/, warnings);
        return port;
      }),
    );
    // the first run migrates the empty database; the others then find it migrated
    const { stdout } = await run$('node', [BIN, 'keys', 'create', '--json', ...common]);
    const key = JSON.parse(stdout) as { AccessKeyId: string; AccessKeySecret: string };
    const ids = await Promise.all(
      ports.map(async (port, i) => {
        const id = `acp-fleet${i}`;
        await run$('node', [BIN, 'instances', 'add', '--id', id, '--adb', `127.0.0.1:${port}`, ...common]);
        return id;
      }),
    );
    const apis: Fleet['apis'] = [];
    for (let i = 0; i < 2; i++) {
      const port = await freePort();
      const proc = cli(['serve', '--no-worker', '--port', String(port), ...common], procs);
      await ready(proc, /API on/, warnings);
      const rpc = new RPCClient({
        endpoint: `http://127.0.0.1:${port}`,
        apiVersion: '2023-09-30',
        accessKeyId: key.AccessKeyId,
        accessKeySecret: key.AccessKeySecret,
      });
      apis.push({ proc, rpc });
    }
    const setupSeconds = (performance.now() - setupStart) / 1000;
    const fleet: Fleet = { apis, emulators, ids, database: dbName, requests, inFlight };
    const rounds: Round[] = [];
    for (const n of workerCounts) {
      const workers = [];
      for (let i = 0; i < n; i++) {
        const w = cli(['worker', ...common], procs);
        await ready(w, /worker started/, warnings);
        workers.push(w);
      }
      process.stderr.write(`fleet: ${requests} BackupApp calls with ${n} worker(s)…\n`);
      rounds.push(await runRound(fleet, workers));
      await Promise.all(workers.map(stop));
    }
    const files = await (apis[0] as Fleet['apis'][number]).rpc.request<{ Data: { FileSize: number }[] }>(
      'DescribeBackupFiles',
      { MaxResults: 1 },
    );
    const fileBytes = Number(files.Data[0]?.FileSize);
    return report(rounds, { requests, phones, inFlight, cap, setupSeconds, fileBytes, warnings });
  } finally {
    await Promise.all(procs.map(stop));
    await sql(admin, `DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * waits for a line, like backup-restore.ts's waitOutput, then only keeps the log lines of level
 * warn and above (a reconciler fix, a task runner fault), which the report lists: the workers log
 * a line per task, and matching all the output again at every chunk would cost this client CPU
 */
function ready(p: ChildProcess, pattern: RegExp, warnings: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (c: Buffer) => {
      out += c.toString();
      if (!pattern.test(out)) return;
      p.off('exit', onExit);
      p.stdout?.off('data', onData).on('data', keepWarnings(warnings));
      resolve();
    };
    const onExit = (code: number | null) => reject(new Error(`exited (${code}) before printing ${pattern}: ${out}`));
    p.stdout?.on('data', onData);
    p.once('exit', onExit);
  });
}

function keepWarnings(warnings: string[]): (c: Buffer) => void {
  let partial = '';
  return (c) => {
    const lines = (partial + c.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) if (/^\{"level":[4-6]0,/.test(line) && warnings.length < 100) warnings.push(line);
  };
}

/** SIGTERM, then wait for the exit (a worker hands back what it runs first) */
function stop(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((r) => p.once('exit', () => r()));
  p.kill('SIGTERM');
  return exited;
}

async function sql(url: string, text: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(text);
  } finally {
    await c.end();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) process.stdout.write(await run());
