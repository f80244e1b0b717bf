// The real actions on PostgreSQL, for what only it refuses: a NUL character cannot be stored in
// (or compared with) a text column, so one reaching a query was an HTTP 500. The fuzz on
// PostgreSQL found it in every string parameter, the AccessKeyId, the v1 SignatureNonce and
// inside a NextToken.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actions } from '../src/api/actions/index.ts';
import { buildApi } from '../src/api/server.ts';
import { type HttpRequest, type SignOptions, signRequest } from '../src/api/signing/sign-request.ts';
import { loadConfig } from '../src/config.ts';
import { type Db, openDatabase } from '../src/db/database.ts';
import { objectStoreFor } from '../src/storage/endpoints.ts';
import { cancelWithoutRunner } from './helpers/cancel.ts';

const ADMIN = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const dbName = `cpb_api_pg_${process.pid}_${Date.now()}`;
let dir: string;
let db: Db;
let app: FastifyInstance;
let endpoint: string;
let key: { accessKeyId: string; accessKeySecret: string };

async function admin(sql: string) {
  const c = new pg.Client({ connectionString: ADMIN });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  await admin(`CREATE DATABASE ${dbName}`);
  const url = new URL(ADMIN);
  url.pathname = `/${dbName}`;
  dir = mkdtempSync(join(tmpdir(), 'cpb-api-pg-'));
  const config = loadConfig({ flags: { dataDir: join(dir, 'data'), databaseUrl: url.toString() }, env: {} });
  db = await openDatabase({ dataDir: config.dataDir, databaseUrl: config.databaseUrl });
  app = buildApi({
    actions: actions({
      db,
      storeFor: (e) => objectStoreFor(e, config.storage, config.dataDir),
      notifyTasks: () => {},
      maxPendingTasks: config.server.maxPendingTasksPerInstance,
      cancelTask: cancelWithoutRunner(db),
    }),
    credentials: { find: (id) => db.accounts.findKey(id) },
    nonces: db.nonces,
    logger: pino({ level: 'silent' }),
  });
  endpoint = await app.listen({ host: '127.0.0.1', port: 0 });
  key = await db.accounts.createKey('default');
}, 60_000);

afterAll(async () => {
  await app?.close();
  await db?.close();
  await admin(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  rmSync(dir, { recursive: true, force: true });
});

async function send(req: HttpRequest) {
  const res = await fetch(req.url, { method: req.method, headers: req.headers, body: req.body });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}
const call = (action: string, params: Record<string, string>, over: Partial<SignOptions> = {}) =>
  send(signRequest({ endpoint, action, params, ...key, signature: 'v3', ...over }));

const token = (created: string, id: string) => Buffer.from(JSON.stringify([created, id])).toString('base64url');

describe('a NUL character is InvalidParameter, not InternalError', () => {
  it.each([
    ['DescribeAndroidInstances', { AndroidInstanceName: 'a\u0000b' }, 'AndroidInstanceName'],
    ['DescribeBackupFiles', { Description: '\u0000' }, 'Description'],
    ['DescribeTasks', { InstanceName: 'x\u0000' }, 'InstanceName'],
    ['DescribeTasks', { 'ResourceIds.1': '\u0000' }, 'ResourceIds.1'],
    ['DescribeTasks', { InvokeId: '\u0000' }, 'InvokeId'],
    ['DescribeTasks', { Unnamed: '\u0000' }, 'Unnamed'],
    ['DescribeTasks', { 'Na\u0000me': 'x' }, 'Na'],
  ])('%s %j', async (action, params, name) => {
    for (const signature of ['v1', 'v3'] as const) {
      const res = await call(action, params, { signature });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ Code: 'InvalidParameter', Message: expect.stringContaining(`"${name}`) });
    }
  });

  it('inside a NextToken', async () => {
    for (const action of ['DescribeAndroidInstances', 'DescribeBackupFiles', 'DescribeTasks']) {
      const res = await call(action, { NextToken: token('2026-01-01T00:00:00.000Z', 'x\u0000') });
      expect(res).toMatchObject({ status: 400, body: { Code: 'InvalidParameter' } });
      expect(res.body.Message).toContain('"NextToken"');
      // a well-formed token still pages
      expect((await call(action, { NextToken: token('2026-01-01T00:00:00.000Z', 'x') })).status).toBe(200);
    }
  });

  it('in the AccessKeyId or the v1 SignatureNonce, signed or not', async () => {
    const unsigned = await send({
      url: `${endpoint}/?Action=DescribeTasks&Version=2023-09-30&AccessKeyId=%00`,
      method: 'GET',
      headers: {},
    });
    expect(unsigned).toMatchObject({ status: 400, body: { Code: 'InvalidParameter' } });
    const nonce = await call('DescribeTasks', {}, { signature: 'v1', nonce: 'n\u0000' });
    expect(nonce).toMatchObject({ status: 400, body: { Code: 'InvalidParameter' } });
  });
});
