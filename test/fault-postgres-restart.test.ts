import { afterAll, beforeAll, expect, it } from 'vitest';
import { TASK_ERROR_CODES } from './helpers/catalogue.ts';
import { type CliProcess, startCli, stopAll, WORKER_READY } from './helpers/cli-process.ts';
import { adminQuery, ENDPOINT, type FaultStack, LEASE_MS, startFaultStack } from './helpers/fault-stack.ts';
import { settleInvariants } from './helpers/invariants.ts';
import { type PrivatePostgres, startPrivatePostgres } from './helpers/private-postgres.ts';
import { type Row, waitFor, waitTask } from './helpers/wait.ts';
import { within } from './helpers/within.ts';

// PostgreSQL restarted under a scale-out deployment (an API-only process and a worker process, as
// child processes) while backups run and BackupApp requests keep coming: no process exits, every
// request the API accepted with a TaskId ends Finished (or Failed with a catalogue code, never
// InternalError), every request it refused was refused at once with a clean error envelope, and
// the invariants of test/helpers/invariants.ts hold afterwards. The cluster is the test's own, on
// its own port, so the machine's PostgreSQL is never touched.

const PORT = 55433;
const BIG = ['com.example.notes', 'com.example.gallery'];
const SMALL = ['com.example.gallery'];
const OUTAGE_MS = 3_000;
/** a refusal must come back this fast: a request hanging on a dead database is a failure */
const ANSWER_MS = 10_000;

let pg: PrivatePostgres;
let s: FaultStack;
let worker: CliProcess;

beforeAll(async () => {
  pg = await startPrivatePostgres(PORT);
  await adminQuery(pg.url(), 'create database cpb');
  s = await startFaultStack({ backend: 'postgres', phones: 2, databaseUrl: pg.url('cpb') });
  await s.serve([], { worker: false });
  worker = await startCli(['worker', '--config', s.configFile], { ready: WORKER_READY });
}, 90_000);
afterAll(async () => {
  await s?.close();
  await stopAll();
  await pg?.destroy();
});

interface Refusal {
  status: number | undefined;
  code: string | undefined;
  envelope: boolean;
  message: string;
}

it('a PostgreSQL restart mid-backup loses no accepted request and stops no process', async () => {
  const accepted: string[] = [];
  const refused: Refusal[] = [];
  const send = async (i: number) => {
    const call = s.call('BackupApp', {
      AndroidInstanceIdList: [s.ids[i % 2]],
      SourceAppList: i < 2 ? BIG : SMALL,
      BackupFilePath: 'oss://pg-restart/out/',
      UploadEndpoint: ENDPOINT,
    });
    try {
      accepted.push(String((await within(call, ANSWER_MS)).TaskId));
    } catch (err) {
      const e = err as { statusCode?: number; code?: string; data?: Row; message: string };
      const envelope = typeof e.data?.Code === 'string' && typeof e.data?.RequestId === 'string';
      refused.push({ status: e.statusCode, code: e.code, envelope, message: e.message.slice(0, 300) });
    }
  };
  await send(0);
  await send(1);
  expect(accepted, JSON.stringify(refused)).toHaveLength(2);
  // mid-backup: a task has read some of its phone
  await waitFor(async () => {
    const rows = (await s.call('DescribeTasks', { TaskStatus: 'Processing', Level: 2 })).Data as Row[];
    return rows.some((r) => Number(r.BytesDone) > 0);
  }, 30_000);
  let down = true;
  const outage = (async () => {
    await pg.stop();
    await new Promise((r) => setTimeout(r, OUTAGE_MS));
    await pg.start();
    down = false;
  })();
  // requests all through the outage and a few after it, each answered (or not) on its own
  const sent: Promise<void>[] = [];
  for (let i = 2, after = 0; after < 6 && i < 60; i++) {
    if (!down) after++;
    sent.push(send(i));
    await new Promise((r) => setTimeout(r, 400));
  }
  await outage;
  await Promise.all(sent);

  // no process may exit over it (their last words, should one have)
  expect(s.service.alive(), s.service.output().slice(-4000)).toBe(true);
  expect(worker.alive(), worker.output().slice(-4000)).toBe(true);
  expect(refused.length, 'no request was refused: the outage was not seen').toBeGreaterThan(0);
  expect(accepted.length, `none accepted after the restart: ${JSON.stringify(refused)}`).toBeGreaterThan(2);
  for (const r of refused) {
    // the database is away: 503, which a client may retry; a phone's queue being full is the one
    // other clean refusal
    const clean = r.envelope && (r.code === 'ServiceUnavailable' || r.code === 'TooManyPendingTasks');
    expect(clean, JSON.stringify(r)).toBe(true);
  }
  const attempts: number[] = [];
  for (const id of accepted) {
    const row = await waitTask(s.call, id, 90_000);
    const children = (await s.call('DescribeTasks', { ParentTaskId: id })).Data as Row[];
    attempts.push(...children.map((t) => Number(t.Attempts)));
    for (const t of [row, ...children]) {
      if (t.TaskStatus === 'Failed') expect(TASK_ERROR_CODES, JSON.stringify(t)).toContain(t.ErrorCode);
      else expect(t.TaskStatus, JSON.stringify(t)).toBe('Finished');
    }
  }
  const scope = { call: s.call, db: s.db, dataDir: s.dataDir, phones: s.phones.map((p) => p.address), apps: BIG };
  expect(await settleInvariants(scope, 4 * LEASE_MS + 5_000)).toEqual([]);
  expect(s.service.alive(), s.service.output()).toBe(true);
  expect(worker.alive(), worker.output()).toBe(true);
  console.info(
    `PostgreSQL restart: ${accepted.length} accepted (attempts ${attempts}), ${refused.length} refused`,
    countBy(refused),
  );
}, 150_000);

function countBy(refused: Refusal[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of refused) out[`${r.status} ${r.code}`] = (out[`${r.status} ${r.code}`] ?? 0) + 1;
  return out;
}
