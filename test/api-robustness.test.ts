// The real actions on a real database (SQLite, no worker, no phones), for what the fuzz found:
// invalid calendar times, the cap on a phone's unsettled tasks.

import { mkdtempSync, rmSync } from 'node:fs';
import { type Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actions } from '../src/api/actions/index.ts';
import { MAX_UNSETTLED_TASKS_PER_INSTANCE } from '../src/api/actions/task-cap.ts';
import { buildApi } from '../src/api/server.ts';
import { type HttpRequest, type SignOptions, signRequest } from '../src/api/signing/sign-request.ts';
import { loadConfig } from '../src/config.ts';
import { type Db, openDatabase } from '../src/db/database.ts';
import { objectStoreFor } from '../src/storage/endpoints.ts';

let dir: string;
let db: Db;
let app: FastifyInstance;
let endpoint: string;
let key: { accessKeyId: string; accessKeySecret: string };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cpb-api-robust-'));
  const config = loadConfig({ flags: { dataDir: join(dir, 'data') }, env: {} });
  db = await openDatabase({ dataDir: config.dataDir });
  app = buildApi({
    actions: actions({ db, storeFor: (e) => objectStoreFor(e, config.storage, config.dataDir), notifyTasks: () => {} }),
    credentials: { find: (id) => db.accounts.findKey(id) },
    nonces: db.nonces,
    logger: pino({ level: 'silent' }),
    hostId: 'eds-aic.test.local',
  });
  endpoint = await app.listen({ host: '127.0.0.1', port: 0 });
  key = await db.accounts.createKey('default');
  for (const id of ['acp-cap1', 'acp-cap2', 'acp-cap3']) {
    await db.instances.add({
      id,
      account: 'default',
      name: id,
      adbAddress: '127.0.0.1:1',
      imageId: 'img-test',
      imageVersion: '1.0',
      imageType: 'custom',
      instanceType: 'cpm.gx7.10xlarge',
      androidVersion: '14',
      sdk: 34,
      abi: 'arm64-v8a',
      fingerprint: 'test/fingerprint',
    });
  }
});
afterAll(async () => {
  await app?.close();
  await db?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
  /** the local port of the connection the answer came on */
  localPort: number;
}

/** Sends through node:http (with `agent`, or a fresh connection), keeping the raw status and headers. */
function send(req: HttpRequest, agent?: Agent): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const r = httpRequest(req.url, { method: req.method, headers: req.headers, agent: agent ?? false }, (res) => {
      const chunks: Buffer[] = [];
      const localPort = res.socket.localPort ?? 0;
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(text), localPort });
        } catch {
          reject(new Error(`HTTP ${res.statusCode} with a non-JSON body: ${text.slice(0, 200)}`));
        }
      });
      res.on('error', reject);
    });
    r.on('error', reject);
    r.end(req.body);
  });
}

const signed = (action: string, params: Record<string, string>, over: Partial<SignOptions> = {}) =>
  signRequest({ endpoint, action, params, ...key, signature: 'v3', ...over });
const call = (action: string, params: Record<string, string>, over: Partial<SignOptions> = {}) =>
  send(signed(action, params, over));

function expectEnvelope(body: Record<string, unknown>, code: string) {
  expect(body).toEqual({
    RequestId: expect.stringMatching(/^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/),
    HostId: 'eds-aic.test.local',
    Code: code,
    Message: expect.any(String),
    Recommend: expect.stringContaining(`q=${code}`),
  });
}

describe('time parameters are real calendar times', () => {
  it.each([
    '2026-13-01 00:00:00',
    '2026-00-10 00:00:00',
    '2026-02-30 00:00:00',
    '2025-02-29 12:00:00',
    '2026-01-32 00:00:00',
    '2026-01-01 24:00:00',
    '2026-01-01 23:60:00',
    '2026-01-01 23:59:60',
  ])('DescribeBackupFiles StartTime/EndTime %j is InvalidParameter (400)', async (time) => {
    for (const name of ['StartTime', 'EndTime']) {
      const res = await call('DescribeBackupFiles', { [name]: time });
      expect(res.status).toBe(400);
      expectEnvelope(res.body, 'InvalidParameter');
      expect(res.body.Message).toContain(`"${name}"`);
    }
  });

  it('accepts real times, leap days included, and filters by them', async () => {
    for (const [start, end] of [
      ['2024-02-29 00:00:00', '2099-12-31 23:59:59'],
      ['0001-01-01 00:00:00', '9999-12-31 23:59:59'],
    ]) {
      const res = await call('DescribeBackupFiles', { StartTime: start as string, EndTime: end as string });
      expect(res).toMatchObject({ status: 200, body: { TotalCount: 0, Data: [] } });
    }
  });
});

describe('a phone holds at most MAX_UNSETTLED_TASKS_PER_INSTANCE unsettled tasks', () => {
  const backup = (ids: string[]) =>
    call('BackupApp', {
      ...Object.fromEntries(ids.map((id, i) => [`AndroidInstanceIdList.${i + 1}`, id])),
      'SourceAppList.1': 'com.example.notes',
      BackupFilePath: 'oss://bucket/cap/',
      UploadEndpoint: 'oss-cap.local',
    });

  it('BackupApp and RecoverApp beyond the cap are TooManyPendingTasks (409); other phones are not held back', async () => {
    for (let i = 0; i < MAX_UNSETTLED_TASKS_PER_INSTANCE; i++) expect((await backup(['acp-cap1'])).status).toBe(200);
    const refused = await backup(['acp-cap2', 'acp-cap1']);
    expect(refused.status).toBe(409);
    expectEnvelope(refused.body, 'TooManyPendingTasks');
    expect(refused.body.Message).toContain('acp-cap1');
    // nothing was queued for the other phone of the refused call
    const tasks = await db.tasks.list('default', { instanceId: 'acp-cap2' });
    expect(tasks.totalCount).toBe(0);
    expect((await backup(['acp-cap2'])).status).toBe(200);

    const file = await db.backupFiles.create({
      id: 'bf-capfile',
      account: 'default',
      instanceId: 'acp-cap3',
      instanceName: 'acp-cap3',
      name: 'cap.tar.zst',
      description: '',
      path: 'oss://bucket/cap/',
      endpoint: 'oss-cap.local',
      bucket: 'bucket',
      objectKey: 'cap/cap.tar.zst',
      apps: ['com.example.notes'],
      taskId: 't-none',
      status: 'AVAILABLE',
    });
    const recover = (id: string) =>
      call('RecoverApp', { BackupFileId: file.id, 'AndroidInstanceIdList.1': id, UploadType: 'OSS' });
    const recoverRefused = await recover('acp-cap1');
    expect(recoverRefused.status).toBe(409);
    expectEnvelope(recoverRefused.body, 'TooManyPendingTasks');
    expect((await recover('acp-cap3')).status).toBe(200);
  });

  it('settled tasks do not count', async () => {
    await db.kysely
      .updateTable('tasks')
      .set({ status: 'Failed' })
      .where('instanceId', '=', 'acp-cap1')
      .where('level', '=', 2)
      .execute();
    expect((await backup(['acp-cap1'])).status).toBe(200);
  });
});
