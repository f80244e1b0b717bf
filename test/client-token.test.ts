import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Instance } from '../src/db/instances-repo.ts';
import { BACKENDS } from '../src/db/testing.ts';
import { type Call, client } from './helpers/clients.ts';
import { type Stack, startStack } from './helpers/stack.ts';
import { type Row, waitTask } from './helpers/wait.ts';

// ClientToken end to end, on SQLite and PostgreSQL, through pop-core and openapi-core: a repeat
// answers the first call's body and creates nothing; other parameters are refused; concurrent
// duplicates create work once; tokens are per account; a refused call stores nothing; a token
// is forgotten after 24 hours.

const ADMIN = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const ENDPOINT = 'oss-cn-hangzhou.aliyuncs.com';
const NOTES = 'com.example.notes';
const HOUR = 3600_000;

async function admin(sql: string) {
  const c = new pg.Client({ connectionString: ADMIN });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

describe.each(BACKENDS)('ClientToken on %s', (backend) => {
  let stack: Stack;
  let pop: Call;
  let sdk: Call;
  const database = `cpb_client_token_${process.pid}_${Date.now()}`;

  beforeAll(async () => {
    let databaseUrl: string | undefined;
    if (backend === 'postgres') {
      await admin(`create database ${database}`);
      const url = new URL(ADMIN);
      url.pathname = `/${database}`;
      databaseUrl = url.toString();
    }
    stack = await startStack({ phones: 2, configFile: databaseUrl ? { databaseUrl } : {} });
    pop = client('pop-core POST', stack.url, stack.key);
    sdk = client('openapi-core V3', stack.url, stack.key);
  }, 120_000);
  afterAll(async () => {
    await stack?.close();
    if (backend === 'postgres') await admin(`drop database if exists ${database} with (force)`);
  });

  const db = () => stack.service.db;
  const backupParams = (token: string, over: Record<string, unknown> = {}) => ({
    AndroidInstanceIdList: [stack.ids[0]],
    SourceAppList: [NOTES],
    BackupFilePath: 'oss://bucket/tokens/',
    UploadEndpoint: ENDPOINT,
    Description: 'nightly',
    ClientToken: token,
    ...over,
  });
  const batches = async (type: string) =>
    Number((await sdk('DescribeTasks', { Level: 1, TaskTypes: [type], MaxResults: 1 })).TotalCount);
  const files = async () => Number((await sdk('DescribeBackupFiles', { MaxResults: 1 })).TotalCount);
  const settle = async (body: Record<string, unknown>, as: Call = sdk) => {
    for (const d of body.Data as Row[]) expect((await waitTask(as, String(d.TaskId))).TaskStatus).toBe('Finished');
  };
  // the same phone registered again under another id (and maybe account), as `instances add` would
  const register = async (id: string, account: string) => {
    const {
      status: _s,
      errorCode: _e,
      rate: _r,
      created: _c,
      modified: _m,
      ...phone
    } = (await db().instances.get('default', stack.ids[1] as string)) as Instance;
    await db().instances.add({ ...phone, id, account });
  };
  const tokenRows = async (token: string) =>
    db().kysely.selectFrom('clientTokens').selectAll().where('token', '=', token).execute();

  it('a repeat answers the first body (new RequestId) and creates no second batch', async () => {
    const before = { batches: await batches('BackupApp'), files: await files() };
    const first = await pop('BackupApp', backupParams('nightly-2024-05-01'));
    // the other library, another signature, the same parameters: the same answer
    const again = await sdk('BackupApp', backupParams('nightly-2024-05-01'));
    const { RequestId: r1, ...body1 } = first;
    const { RequestId: r2, ...body2 } = again;
    expect(r2).not.toBe(r1);
    expect(body2).toEqual(body1);
    expect(body1.TaskId).toMatch(/^t-/);
    expect(await batches('BackupApp')).toBe(before.batches + 1);
    expect(await files()).toBe(before.files + 1);
    await settle(first);
    // once the work is done a repeat still answers the same, and still creates nothing
    expect((await pop('BackupApp', backupParams('nightly-2024-05-01'))).TaskId).toBe(first.TaskId);
    expect(await batches('BackupApp')).toBe(before.batches + 1);
    // tokens are case-sensitive: another case is another token
    expect((await pop('BackupApp', backupParams('NIGHTLY-2024-05-01'))).TaskId).not.toBe(first.TaskId);
    expect(await batches('BackupApp')).toBe(before.batches + 2);
    const [row] = await tokenRows('nightly-2024-05-01');
    expect(row).toMatchObject({ account: 'default', action: 'BackupApp', requestId: r1 });
  });

  it('the same token with other parameters is IdempotentParameterMismatch (409); other actions are separate', async () => {
    const first = await sdk('BackupApp', backupParams('tok-mismatch'));
    const before = await batches('BackupApp');
    await expect(pop('BackupApp', backupParams('tok-mismatch', { Description: 'weekly' }))).rejects.toMatchObject({
      code: 'IdempotentParameterMismatch',
    });
    await expect(
      sdk('BackupApp', backupParams('tok-mismatch', { AndroidInstanceIdList: [stack.ids[1]] })),
    ).rejects.toMatchObject({
      code: 'IdempotentParameterMismatch',
      statusCode: 409,
    });
    // an optional parameter left out is a different request too
    await expect(sdk('BackupApp', backupParams('tok-mismatch', { Description: undefined }))).rejects.toMatchObject({
      code: 'IdempotentParameterMismatch',
    });
    expect(await batches('BackupApp')).toBe(before);
    await settle(first);
    // the token is per action: RecoverApp with it starts its own restore
    const fileId = String((first.Data as Row[])[0]?.BackupFileId);
    const restore = await pop('RecoverApp', {
      BackupFileId: fileId,
      AndroidInstanceIdList: [stack.ids[1]],
      UploadType: 'OSS',
      ClientToken: 'tok-mismatch',
    });
    expect(restore.TaskId).not.toBe(first.TaskId);
    await settle(restore);
  });

  it('10 concurrent calls with one token create one batch and one backup file, all answering alike', async () => {
    const before = { batches: await batches('BackupApp'), files: await files() };
    const kinds = [pop, sdk];
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (kinds[i % 2] as Call)('BackupApp', backupParams('tok-burst'))),
    );
    const bodies = answers.map(({ RequestId: _, ...rest }) => rest);
    for (const b of bodies) expect(b).toEqual(bodies[0]);
    expect(new Set(answers.map((a) => a.RequestId)).size).toBe(10);
    expect(await batches('BackupApp')).toBe(before.batches + 1);
    expect(await files()).toBe(before.files + 1);
    expect(await tokenRows('tok-burst')).toHaveLength(1);
    await settle(answers[0] as Record<string, unknown>);
  });

  it('10 concurrent RecoverApp calls with one token start one restore', async () => {
    const made = await pop('BackupApp', backupParams('tok-source'));
    await settle(made);
    const fileId = String((made.Data as Row[])[0]?.BackupFileId);
    const before = await batches('RecoverApp');
    const params = { BackupFileId: fileId, AndroidInstanceIdList: stack.ids, UploadType: 'OSS', ClientToken: 'r1' };
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? pop : sdk)('RecoverApp', params)));
    expect(new Set(answers.map((a) => a.TaskId)).size).toBe(1);
    const first = answers[0] as Record<string, unknown>;
    expect((first.Data as Row[]).map((d) => d.AndroidInstanceId)).toEqual(stack.ids);
    expect(await batches('RecoverApp')).toBe(before + 1);
    await settle(first);
    // a repeat after the file is gone still answers the first call's body, not NotFound
    await sdk('DeleteBackupFile', { BackupFileIdList: [fileId] });
    expect((await pop('RecoverApp', params)).TaskId).toBe(first.TaskId);
  });

  it("another account's same token is its own", async () => {
    const other = await db().accounts.createKey('other');
    await register('acp-other0', 'other');
    // phone 0 for this account, phone 1 (as acp-other0) for the other: one task per phone at a time
    const mine = await pop('BackupApp', backupParams('shared-token'));
    const otherSdk = client('openapi-core V3', stack.url, other);
    const theirs = await otherSdk('BackupApp', backupParams('shared-token', { AndroidInstanceIdList: ['acp-other0'] }));
    expect(theirs.TaskId).not.toBe(mine.TaskId);
    expect(await tokenRows('shared-token')).toHaveLength(2);
    // and the other account's identical repeat answers its own first body
    const again = await client(
      'pop-core GET',
      stack.url,
      other,
    )('BackupApp', backupParams('shared-token', { AndroidInstanceIdList: ['acp-other0'] }));
    expect(again.TaskId).toBe(theirs.TaskId);
    await settle(mine);
    await settle(theirs, otherSdk);
    // neither account sees the other's task
    await expect(otherSdk('DescribeTasks', { TaskIds: [mine.TaskId] })).resolves.toMatchObject({ TotalCount: 0 });
  });

  it('a refused call stores nothing: the same call succeeds once the cause is gone', async () => {
    const params = backupParams('tok-retry', { AndroidInstanceIdList: ['acp-later'] });
    await expect(sdk('BackupApp', params)).rejects.toMatchObject({
      code: 'InvalidAndroidInstanceId.NotFound',
      statusCode: 404,
    });
    await expect(pop('BackupApp', params)).rejects.toMatchObject({ code: 'InvalidAndroidInstanceId.NotFound' });
    expect(await tokenRows('tok-retry')).toHaveLength(0);
    await register('acp-later', 'default');
    const ok = await pop('BackupApp', params);
    expect((await sdk('BackupApp', params)).TaskId).toBe(ok.TaskId);
    await settle(ok);
    // a malformed token is the call's own 400, before anything is looked up
    for (const bad of ['x'.repeat(101), 'tök', 'a\tb']) {
      await expect(sdk('BackupApp', backupParams(bad))).rejects.toMatchObject({
        code: 'InvalidParameter',
        statusCode: 400,
      });
    }
    await settle(await pop('BackupApp', backupParams('y'.repeat(100), { Description: 'max' })));
  });

  it('a token is remembered for 24 hours, then forgotten and purged', async () => {
    const age = (token: string, hours: number) =>
      db()
        .kysely.updateTable('clientTokens')
        .set({ created: new Date(Date.now() - hours * HOUR).toISOString() })
        .where('token', '=', token)
        .execute();
    const first = await pop('BackupApp', backupParams('tok-day'));
    await settle(first);
    await age('tok-day', 23.9);
    expect((await sdk('BackupApp', backupParams('tok-day'))).TaskId).toBe(first.TaskId);
    await age('tok-day', 24.1);
    // past 24 h the token is new again (even with other parameters) and starts new work
    const later = await sdk('BackupApp', backupParams('tok-day', { Description: 'a day later' }));
    expect(later.TaskId).not.toBe(first.TaskId);
    const rows = await tokenRows('tok-day');
    expect(rows).toHaveLength(1);
    expect(JSON.parse(String(rows[0]?.response)).TaskId).toBe(later.TaskId);
    await settle(later);
    // any call with a token purges every token older than 24 h
    await age('tok-mismatch', 25);
    await settle(await pop('BackupApp', backupParams('tok-purge')));
    expect(await tokenRows('tok-mismatch')).toHaveLength(0);
    expect(await tokenRows('tok-burst')).toHaveLength(1);
  });
});
