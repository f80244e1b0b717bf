import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import RPCClient from '@alicloud/pop-core';
import { sql } from 'kysely';
import pg from 'pg';
import { type Db, openDatabase } from '../src/db/database.ts';
import { type PartQueries, type Parts, timeParts } from './describe-tasks-parts.ts';
import { type Measured, measure, measureBare, SHAPE } from './load-run.ts';
import { freePort, nodeFlags } from './processes.ts';
import { copyTasks, seedTasks } from './seed-tasks.ts';

// DescribeTasks requests/s with 100,000 tasks in the database, on SQLite and on PostgreSQL,
// through the service's real HTTP API (its own process, started from dist/ as `serve`), against
// a bare Fastify handler answering the same JSON, driven by one load generator (its own process,
// bench/http-load.ts) with the same connections and duration. Target: at least 0.5× the bare
// handler's requests/s. The service runs API-only (--no-worker): the seeded Waiting tasks name
// phones that do not exist, and a worker would try to run them.

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'cloudphone-backup.js');
const PG_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const TASKS = Number(process.env.BENCH_TASKS ?? 100_000);
const TARGET = 0.5;

type Params = Record<string, unknown>;
type Row = { bare?: Measured; sqlite?: Measured; postgres?: Measured; bytes: number };

export async function run(): Promise<string> {
  if (!existsSync(join(ROOT, 'dist', 'main.js'))) throw new Error('dist/ is missing: run `npm run build` first');
  const dir = mkdtempSync(join(tmpdir(), 'cpb-describe-'));
  const database = `cpb_bench_tasks_${process.pid}`;
  const procs: ChildProcess[] = [];
  const rows = new Map<string, Row>();
  try {
    const seedStart = performance.now();
    const sqliteDir = join(dir, 'sqlite');
    const postgresUrl = Object.assign(new URL(PG_URL), { pathname: `/${database}` }).href;
    const source = await openDatabase({ dataDir: sqliteDir });
    const keys = {
      sqlite: await source.accounts.createKey('bench'),
      postgres: { accessKeyId: '', accessKeySecret: '' },
    };
    const seeded = await seedTasks(source, { total: TASKS, instances: 200, account: 'bench' });
    await admin(`create database ${database}`);
    const copy = await openDatabase({ dataDir: join(dir, 'postgres'), databaseUrl: postgresUrl });
    keys.postgres = await copy.accounts.createKey('bench');
    await copyTasks(source, copy);
    // what autovacuum would have done to a table grown over months: statistics for the planner,
    // and the visibility map the index-only counts need (PostgreSQL's advice after a bulk load,
    // https://www.postgresql.org/docs/current/populate.html#POPULATE-ANALYZE)
    await sql`vacuum analyze`.execute(copy.kysely);
    await Promise.all([source.close(), copy.close()]);
    const seedSeconds = ((performance.now() - seedStart) / 1000).toFixed(1);
    process.stderr.write(`describe-tasks: ${TASKS} tasks into SQLite, copied to PostgreSQL, in ${seedSeconds} s\n`);
    const queries: Record<string, Params> = {
      'TaskIds: a batch and 2 of its tasks': { TaskIds: seeded.taskIds },
      'Level 1, MaxResults 20 (the console)': { Level: 1, MaxResults: 20 },
      'InstanceId + TaskStatus Finished, MaxResults 20': {
        InstanceId: seeded.instanceIds[7],
        TaskStatus: 'Finished',
        MaxResults: 20,
      },
    };
    for (const backend of ['sqlite', 'postgres'] as const) {
      const key = keys[backend];
      const port = await freePort();
      const args = ['serve', '--no-worker', '--port', String(port), '--data-dir', join(dir, backend)];
      const log = openSync(join(dir, `${backend}.log`), 'a');
      const db = backend === 'postgres' ? ['--database-url', postgresUrl] : [];
      const serve = spawn('node', [...nodeFlags(), BIN, ...args, ...db], { stdio: ['ignore', log, 'inherit'] });
      procs.push(serve);
      const origin = `http://127.0.0.1:${port}`;
      await ready(`${origin}/healthz`);
      const sdk = new RPCClient({ endpoint: origin, apiVersion: '2023-09-30', ...key });
      for (const [name, params] of Object.entries(queries)) {
        // the official SDK's answer: proof the query works, and the body the bare handler returns
        const answer = await sdk.request<{ Data: unknown[] }>('DescribeTasks', params);
        if (!answer.Data.length) throw new Error(`DescribeTasks ${JSON.stringify(params)} found nothing`);
        const row = rows.get(name) ?? { bytes: 0 };
        rows.set(name, row);
        row[backend] = await measure(serve, { origin, ...key, params, presign: 20_000, replay: false });
        row.bytes = row[backend].responseBytes;
        if (!row.bare) row.bare = await measureBare(dir, name, answer, { ...key, params });
      }
      serve.kill('SIGTERM');
      await new Promise((r) => serve.once('exit', r));
    }
    const partQueries: PartQueries = {
      TaskIds: { filters: { taskIds: seeded.taskIds } },
      'Level 1': { filters: { level: 1 }, maxResults: 20 },
      'InstanceId + TaskStatus': {
        filters: { instanceId: seeded.instanceIds[7], taskStatus: 'Finished' },
        maxResults: 20,
      },
    };
    const parts = {
      sqlite: await withDb({ dataDir: sqliteDir }, (db) => timeParts(db, keys.sqlite.accessKeyId, partQueries)),
      postgres: await withDb({ dataDir: join(dir, 'postgres'), databaseUrl: postgresUrl }, (db) =>
        timeParts(db, keys.postgres.accessKeyId, partQueries),
      ),
    };
    return report(rows) + partsReport(parts, rows);
  } finally {
    for (const p of procs) p.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    await admin(`drop database if exists ${database} with (force)`).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}

async function withDb<T>(o: Parameters<typeof openDatabase>[0], fn: (db: Db) => Promise<T>): Promise<T> {
  const db = await openDatabase(o);
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

function partsReport(parts: Record<'sqlite' | 'postgres', Parts>, rows: Map<string, Row>): string {
  const lines = [
    '',
    "What one request costs before HTTP, in-process on the same databases (bench/describe-tasks-parts.ts: each step 2,000 times, one call at a time, on an idle process; µs per call, which on PostgreSQL is mostly each statement's round trip, not CPU). The first three steps are every signed request's; a query's row is its TotalCount, page and instance statuses:",
    '',
    '| Step | SQLite µs | PostgreSQL µs |',
    '|---|---:|---:|',
  ];
  for (const group of ['everyRequest', 'queries'] as const) {
    for (const [name, us] of parts.sqlite[group]) {
      lines.push(`| ${name} | ${us.toFixed(1)} | ${(parts.postgres[group].get(name) ?? 0).toFixed(1)} |`);
    }
  }
  const every = [...parts.sqlite.everyRequest.values()].reduce((a, b) => a + b, 0);
  const bare = rows.values().next().value?.bare;
  const bareUs = bare?.rps ? (bare.serverCpu * 10_000) / bare.rps : 0;
  lines.push(
    '',
    `On SQLite the steps every request takes come to ${every.toFixed(0)} µs before any query; the bare handler's whole request (HTTP included) cost ${bareUs.toFixed(0)} µs of CPU in the first row above, so 0.5× of its requests/s leaves the service ${(bareUs * 2).toFixed(0)} µs per request for everything.`,
    '',
  );
  return lines.join('\n');
}

async function ready(url: string): Promise<void> {
  const up = () =>
    fetch(url)
      .then((r) => r.ok)
      .catch(() => false);
  for (let i = 0; i < 200; i++) {
    if (await up()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer`);
}

async function admin(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

function report(rows: Map<string, Row>): string {
  const lines = [
    `## DescribeTasks with ${TASKS.toLocaleString('en')} tasks, against a bare Fastify handler (bench/describe-tasks.ts)`,
    '',
    `${SHAPE.connections} keep-alive connections for ${SHAPE.durationMs / 1000} s after ${SHAPE.warmupMs / 1000} s of warm-up, from one load-generator process sending requests signed by @alicloud/pop-core (RPC v1, GET, one nonce each); the service (\`serve --no-worker\`, logging every call) and the bare handler (same Fastify, same answer body, no logger, no auth, no database) each in their own process, on ${cpus().length} cores. Target: service ≥ ${TARGET}× bare. CPU: % of one core (the service's own process; PostgreSQL's backends are not in it), and that CPU per request; machine: % of all cores busy, other work on the machine included. The same 100,000 tasks in both databases: made in SQLite through TasksRepo.createBatch (bench/seed-tasks.ts), copied to PostgreSQL.`,
    '',
    '| Query (answer size) | Server | req/s | p50 ms | p99 ms | vs bare | server CPU | CPU ms/request | generator CPU | machine busy |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const [name, row] of rows) {
    for (const [server, m] of [
      ['bare Fastify', row.bare],
      ['service, SQLite', row.sqlite],
      ['service, PostgreSQL', row.postgres],
    ] as const) {
      if (!m) continue;
      const ratio = row.bare ? (m.rps / row.bare.rps).toFixed(2) : '—';
      const cells = [m.rps.toFixed(0), m.p50Ms.toFixed(2), m.p99Ms.toFixed(2), ratio];
      const [serverCpu, generatorCpu, machine] = [m.serverCpu, m.cpuPercent, m.machineBusy].map(
        (v) => `${v.toFixed(0)}%`,
      );
      const perRequest = m.rps ? ((m.serverCpu * 10) / m.rps).toFixed(3) : '—';
      const cpu = [serverCpu, perRequest, generatorCpu, machine];
      lines.push(`| ${name} (${row.bytes} B) | ${server} | ${[...cells, ...cpu].join(' | ')} |`);
    }
  }
  return `${lines.join('\n')}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) process.stdout.write(await run());
