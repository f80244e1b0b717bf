import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveBatchStatus } from '../src/db/batch-status.ts';
import type { Db } from '../src/db/database.ts';
import type { NewInstance } from '../src/db/instances-repo.ts';
import { BACKENDS, openTestDatabase, type TestDatabase } from '../src/db/testing.ts';
import { ServiceError } from '../src/errors.ts';

let seq = 0;
const account = () => `acct-${++seq}-${Math.random().toString(36).slice(2, 8)}`;

const phone = (acct: string, id: string, extra: Partial<NewInstance> = {}): NewInstance => ({
  id,
  account: acct,
  name: `Phone ${id}`,
  adbAddress: '10.0.0.2:5555',
  imageId: 'imgc-1',
  imageVersion: '1.0',
  imageType: 'public',
  instanceType: 'cpm.gx7.10xlarge',
  androidVersion: '12',
  sdk: 31,
  abi: 'arm64-v8a',
  fingerprint: 'redroid/redroid_arm64/redroid_arm64:12/SQ3A/1:userdebug/test-keys',
  ...extra,
});

const file = (acct: string, n: string, extra: Record<string, unknown> = {}) => ({
  account: acct,
  instanceId: 'acp-a',
  instanceName: 'Shop_Phone',
  name: `backup-${n}`,
  description: `nightly ${n}`,
  path: 'oss://bucket/backups/',
  endpoint: 'oss-cn-hangzhou.aliyuncs.com',
  bucket: 'bucket',
  objectKey: `backups/${n}.tar.zst`,
  apps: ['com.example.notes'],
  ...extra,
});

async function expectCode(p: Promise<unknown>, code: string) {
  await expect(p).rejects.toSatisfy((e) => e instanceof ServiceError && e.code === code);
}

describe('deriveBatchStatus', () => {
  it.each([
    [{ total: 2, finished: 2, failed: 0, processing: 0, waiting: 0 }, 'Finished'],
    [{ total: 2, finished: 0, failed: 2, processing: 0, waiting: 0 }, 'Failed'],
    [{ total: 2, finished: 1, failed: 1, processing: 0, waiting: 0 }, 'PartFinished'],
    [{ total: 2, finished: 1, failed: 0, processing: 0, waiting: 1 }, 'Processing'],
    [{ total: 2, finished: 0, failed: 0, processing: 1, waiting: 1 }, 'Processing'],
    [{ total: 2, finished: 0, failed: 0, processing: 0, waiting: 2 }, 'Waiting'],
  ] as const)('%o → %s', (counts, status) => expect(deriveBatchStatus(counts)).toBe(status));
});

describe.each(BACKENDS)('repositories on %s', (backend) => {
  let t: TestDatabase;
  let db: Db;
  beforeAll(async () => {
    t = await openTestDatabase(backend);
    db = t.db;
  });
  afterAll(() => t?.dispose());

  it('issues access keys per account and finds them', async () => {
    const a = account();
    const k1 = await db.accounts.createKey(a);
    const k2 = await db.accounts.createKey(a);
    expect(k1.accessKeyId).toMatch(/^LTAI[A-Za-z0-9]{20}$/);
    expect(k1.accessKeySecret).toMatch(/^[A-Za-z0-9]{30}$/);
    expect(k2.accessKeyId).not.toBe(k1.accessKeyId);
    expect(await db.accounts.findKey(k2.accessKeyId)).toEqual({ secret: k2.accessKeySecret, account: a });
    expect(await db.accounts.findKey('LTAInope')).toBeNull();
  });

  it('remembers nonces until they expire', async () => {
    const n = `nonce-${account()}`;
    expect(await db.nonces.remember(n, new Date(Date.now() + 60_000))).toBe(true);
    expect(await db.nonces.remember(n, new Date(Date.now() + 60_000))).toBe(false);
    const old = `old-${n}`;
    expect(await db.nonces.remember(old, new Date(Date.now() - 1))).toBe(true);
    expect(await db.nonces.remember(old, new Date(Date.now() + 60_000))).toBe(true); // the expired row is taken over
  });

  it('keeps instances per account, filters and updates status', async () => {
    const a = account();
    const b = account();
    await db.instances.add(phone(a, `acp-${a}-1`));
    await db.instances.add(phone(a, `acp-${a}-2`, { name: 'Other' }));
    await db.instances.add(phone(b, `acp-${b}-1`));
    await expectCode(db.instances.add(phone(b, `acp-${a}-1`)), 'ResourceAlreadyExists');

    expect(await db.instances.get(b, `acp-${a}-1`)).toBeNull();
    const got = await db.instances.get(a, `acp-${a}-1`);
    expect(got).toMatchObject({ status: 'RUNNING', sdk: 31, rate: 0, errorCode: null, imageType: 'public' });

    expect((await db.instances.list(a)).totalCount).toBe(2);
    expect((await db.instances.list(a, { name: 'Other' })).items.map((i) => i.id)).toEqual([`acp-${a}-2`]);
    expect((await db.instances.list(a, { ids: [`acp-${a}-1`, `acp-${b}-1`] })).items.map((i) => i.id)).toEqual([
      `acp-${a}-1`,
    ]);

    await db.instances.setStatus(`acp-${a}-1`, 'BACKUP_FAILED', { errorCode: 'FilePathNotFound', rate: 40 });
    expect(await db.instances.get(a, `acp-${a}-1`)).toMatchObject({
      status: 'BACKUP_FAILED',
      errorCode: 'FilePathNotFound',
      rate: 40,
    });
    expect((await db.instances.list(a, { status: 'BACKUP_FAILED' })).items).toHaveLength(1);
    // DescribeTasks' InstanceStatus for a page: the account's own instances only
    const statuses = await db.instances.statuses(a, [`acp-${a}-1`, `acp-${a}-2`, `acp-${b}-1`, 'acp-nope']);
    expect(Object.fromEntries(statuses)).toEqual({ [`acp-${a}-1`]: 'BACKUP_FAILED', [`acp-${a}-2`]: 'RUNNING' });
    expect((await db.instances.statuses(a, [])).size).toBe(0);
    await db.instances.setStatus(`acp-${a}-1`, 'RUNNING');
    expect(await db.instances.get(a, `acp-${a}-1`)).toMatchObject({ status: 'RUNNING', errorCode: null, rate: 40 });

    expect(await db.instances.remove(b, `acp-${a}-1`)).toBe(false);
    expect(await db.instances.remove(a, `acp-${a}-1`)).toBe(true);
    expect((await db.instances.list(a)).totalCount).toBe(1);
  });

  it('keeps an instance group, end user and what the phone reported, and filters by group', async () => {
    const a = account();
    await db.instances.add(phone(a, `acp-${a}-g1`, { instanceGroupId: 'ag-one', endUserId: 'alice' }));
    await db.instances.add(phone(a, `acp-${a}-g2`, { instanceGroupId: 'ag-two' }));
    await db.instances.add(phone(a, `acp-${a}-none`));
    const groups = async (f: Parameters<Db['instances']['list']>[1]) =>
      (await db.instances.list(a, f)).items.map((i) => i.id).sort();
    expect(await groups({ groupId: 'ag-one' })).toEqual([`acp-${a}-g1`]);
    expect(await groups({ groupIds: ['ag-one', 'ag-two'] })).toEqual([`acp-${a}-g1`, `acp-${a}-g2`]);
    expect(await groups({ groupId: 'ag-one', groupIds: ['ag-two'] })).toEqual([]);
    expect(await db.instances.get(a, `acp-${a}-none`)).toMatchObject({ instanceGroupId: null, cpuCount: null });

    const reported = { androidVersion: '13', sdk: 33, abi: 'arm64-v8a', fingerprint: 'f', networkIp: '10.1.2.3' };
    const display = { width: 1080, height: 2400, dpi: 440 };
    await db.instances.recordFacts(`acp-${a}-g1`, { ...reported, cpuCount: 8, memoryMb: 7680, display });
    expect(await db.instances.get(a, `acp-${a}-g1`)).toMatchObject({
      endUserId: 'alice',
      sdk: 33,
      cpuCount: 8,
      memoryMb: 7680,
      displayWidth: 1080,
      displayHeight: 2400,
      displayDpi: 440,
      networkIp: '10.1.2.3',
    });
    // what the phone no longer says is no longer claimed
    await db.instances.recordFacts(`acp-${a}-g1`, { ...reported, cpuCount: null, memoryMb: null, display: null });
    expect(await db.instances.get(a, `acp-${a}-g1`)).toMatchObject({ cpuCount: null, displayDpi: null });

    const f = await db.backupFiles.create(file(a, 'grouped', { instanceGroupId: 'ag-one', endUserId: 'alice' }));
    await db.backupFiles.create(file(a, 'ungrouped'));
    const files = async (filters: Parameters<Db['backupFiles']['list']>[1]) =>
      (await db.backupFiles.list(a, filters)).items.map((x) => x.id);
    expect(await files({ instanceGroupId: 'ag-one' })).toEqual([f.id]);
    expect(await files({ endUserId: 'alice' })).toEqual([f.id]);
    expect(await files({ endUserId: 'bob' })).toEqual([]);
    expect(await db.backupFiles.get(a, f.id)).toMatchObject({ instanceGroupId: 'ag-one', endUserId: 'alice' });
  });

  it('filters backup files, fuzzy and exact, within one account', async () => {
    const a = account();
    const other = account();
    const f1 = await db.backupFiles.create(file(a, '50%_OFF', { description: 'Before upgrade' }));
    const f2 = await db.backupFiles.create(file(a, 'plain', { instanceId: 'acp-b', instanceName: 'Lab-Phone' }));
    await db.backupFiles.create(file(other, 'plain'));
    await db.kysely
      .updateTable('backupFiles')
      .set({ created: '2024-05-20T10:00:00.000Z' })
      .where('id', '=', f1.id)
      .execute();
    await db.kysely
      .updateTable('backupFiles')
      .set({ created: '2024-05-23T10:00:00.000Z' })
      .where('id', '=', f2.id)
      .execute();

    const ids = async (f: Parameters<Db['backupFiles']['list']>[1]) =>
      (await db.backupFiles.list(a, f)).items.map((x) => x.id);
    expect(await ids({})).toEqual([f2.id, f1.id]);
    expect(await ids({ backupFileId: f1.id })).toEqual([f1.id]);
    expect(await ids({ backupFileName: '50%' })).toEqual([f1.id]);
    expect(await ids({ backupFileName: '50%_off' })).toEqual([f1.id]); // case-insensitive
    expect(await ids({ backupFileName: '5_%' })).toEqual([]); // wildcards are literal
    expect(await ids({ backupFileName: 'LAIN' })).toEqual([f2.id]);
    expect(await ids({ androidInstanceName: 'lab' })).toEqual([f2.id]);
    expect(await ids({ androidInstanceId: 'acp-a' })).toEqual([f1.id]);
    expect(await ids({ description: 'upgrade' })).toEqual([f1.id]);
    expect(await ids({ statusList: ['AVAILABLE'] })).toEqual([]);
    expect(await ids({ statusList: ['BACKUPING', 'AVAILABLE'] })).toEqual([f2.id, f1.id]);
    expect(await ids({ startTime: new Date('2024-05-21T00:00:00Z') })).toEqual([f2.id]);
    expect(await ids({ endTime: new Date('2024-05-21T00:00:00Z') })).toEqual([f1.id]);
    expect(await db.backupFiles.get(other, f1.id)).toBeNull();
  });

  it('updates backup files with compare-and-set and deletes them', async () => {
    const a = account();
    const f = await db.backupFiles.create(file(a, 'cas'));
    expect(f).toMatchObject({ status: 'BACKUPING', size: 0, sha256: null, apps: ['com.example.notes'] });
    const big = 5 * 2 ** 32; // beyond 32 bits
    const done = await db.backupFiles.update(a, f.id, {
      status: 'AVAILABLE',
      size: big,
      sha256: 'ab'.repeat(32),
      manifest: '{"version":1}',
      apps: ['com.a.b', 'com.c.d'],
    });
    expect(done).toMatchObject({
      status: 'AVAILABLE',
      size: big,
      manifest: '{"version":1}',
      apps: ['com.a.b', 'com.c.d'],
    });
    expect(await db.backupFiles.update(account(), f.id, { status: 'DELETING' })).toBeNull();
    expect(await db.backupFiles.update(a, f.id, { status: 'DELETING' }, { expectStatus: ['RECOVERING'] })).toBeNull();
    expect(await db.backupFiles.update(a, f.id, { status: 'DELETING' }, { expectStatus: [] })).toBeNull();
    expect(
      (await db.backupFiles.update(a, f.id, { status: 'DELETING' }, { expectStatus: ['AVAILABLE'] }))?.status,
    ).toBe('DELETING');
    expect(await db.backupFiles.delete(account(), f.id)).toBe(false);
    expect(await db.backupFiles.delete(a, f.id)).toBe(true);
    expect(await db.backupFiles.get(a, f.id)).toBeNull();
  });

  it('pages with stable NextTokens while rows are added', async () => {
    const a = account();
    const created: string[] = [];
    for (let i = 0; i < 25; i++) created.push((await db.backupFiles.create(file(a, `p${i}`))).id);
    const all = (await db.backupFiles.list(a, {}, { maxResults: 100 })).items.map((f) => f.id);
    expect(all).toHaveLength(25);
    expect(new Set(all)).toEqual(new Set(created));

    const p1 = await db.backupFiles.list(a, {}, { maxResults: 10 });
    expect(p1).toMatchObject({ totalCount: 25, maxResults: 10 });
    // a row added now sorts before page 1 (a later `created`), so it must not shift later pages
    const late = await db.backupFiles.create(file(a, 'late'));
    const later = new Date(Date.parse(late.created) + 1000).toISOString();
    await db.kysely.updateTable('backupFiles').set({ created: later }).where('id', '=', late.id).execute();
    const p2 = await db.backupFiles.list(a, {}, { maxResults: 10, nextToken: p1.nextToken });
    const p3 = await db.backupFiles.list(a, {}, { maxResults: 10, nextToken: p2.nextToken });
    expect(p3.nextToken).toBe('');
    expect([...p1.items, ...p2.items, ...p3.items].map((f) => f.id)).toEqual(all);
    expect(p2.totalCount).toBe(26);
    expect((await db.backupFiles.list(a)).items).toHaveLength(10); // default page size

    await expectCode(db.backupFiles.list(a, {}, { nextToken: 'garbage' }), 'InvalidParameter');
    await expectCode(db.backupFiles.list(a, {}, { maxResults: 0 }), 'InvalidParameter');
    await expectCode(db.backupFiles.list(a, {}, { maxResults: 101 }), 'InvalidParameter');
  });

  it('creates batches with children and filters tasks', async () => {
    const a = account();
    const { batch, children } = await db.tasks.createBatch(a, {
      type: 'BackupApp',
      invokeId: 'REQ-1',
      param: { apps: ['com.a.b'] },
      children: ['acp-1', 'acp-2', 'acp-3'].map((id) => ({ instanceId: id, instanceName: `n-${id}`, param: { id } })),
    });
    await db.tasks.createBatch(a, {
      type: 'RecoverApp',
      invokeId: 'REQ-2',
      param: {},
      children: [{ instanceId: 'acp-1', instanceName: 'n-acp-1', resourceId: 'bf-x', param: {} }],
    });
    await db.tasks.createBatch(account(), { type: 'BackupApp', invokeId: 'REQ-1', param: {}, children: [] });

    expect(batch).toMatchObject({
      level: 1,
      status: 'Waiting',
      totalChildCount: 3,
      runningChildCount: 3,
      parentId: null,
    });
    expect(children.map((c) => [c.parentId, c.level, c.resourceId])).toEqual([
      [batch.id, 2, 'acp-1'],
      [batch.id, 2, 'acp-2'],
      [batch.id, 2, 'acp-3'],
    ]);
    expect(batch.id).toMatch(/^t-[0-9a-z]{17}$/);
    expect(JSON.parse(children[1]!.param)).toEqual({ id: 'acp-2' });

    const ids = async (f: Parameters<Db['tasks']['list']>[1]) =>
      (await db.tasks.list(a, f, { maxResults: 100 })).items.map((x) => x.id).sort();
    const sorted = (xs: string[]) => [...xs].sort();
    expect(await ids({})).toHaveLength(6);
    expect(await ids({ invokeId: 'REQ-1' })).toEqual(sorted([batch.id, ...children.map((c) => c.id)]));
    expect(await ids({ invokeId: 'REQ-1', level: 1 })).toEqual([batch.id]);
    expect(await ids({ parentTaskId: batch.id })).toEqual(sorted(children.map((c) => c.id)));
    expect(await ids({ parentTaskId: batch.id, instanceId: 'acp-2' })).toEqual([children[1]!.id]);
    expect(await ids({ instanceName: 'n-acp-3' })).toEqual([children[2]!.id]);
    expect(await ids({ taskIds: [children[0]!.id, 't-unknown'] })).toEqual([children[0]!.id]);
    expect(await ids({ resourceIds: ['bf-x'] })).toHaveLength(1);
    expect(await ids({ taskType: 'RecoverApp' })).toHaveLength(2);
    expect(await ids({ taskTypes: ['RecoverApp', 'BackupApp'] })).toHaveLength(6);
    expect(await ids({ taskStatus: 'Finished' })).toEqual([]);
    expect(await ids({ taskStatuses: ['Finished', 'Waiting'] })).toHaveLength(6);
    expect(await db.tasks.get(account(), batch.id)).toBeNull();
    expect((await db.tasks.get(a, batch.id))?.totalChildCount).toBe(3);
  });

  it('rolls a transaction back as a whole', async () => {
    const a = account();
    await expect(
      db.transaction(async (tx) => {
        await tx.tasks.createBatch(a, {
          type: 'BackupApp',
          invokeId: 'REQ-TX',
          param: {},
          children: [{ instanceId: 'acp-1', instanceName: 'x', param: {} }],
        });
        await tx.backupFiles.create(file(a, 'tx'));
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect((await db.tasks.list(a)).totalCount).toBe(0);
    expect((await db.backupFiles.list(a)).totalCount).toBe(0);
  });
});
