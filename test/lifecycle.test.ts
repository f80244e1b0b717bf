import { existsSync, mkdirSync, mkdtempSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ArchiveWriter } from '../src/backup/archive/archive-writer.ts';
import { reconcile } from '../src/backup/reconcile.ts';
import { storeArchive } from '../src/backup/store-archive.ts';
import type { TaskDeps } from '../src/backup/task-deps.ts';
import { TASKS } from '../src/backup/tasks/index.ts';
import { type Db, repositories } from '../src/db/database.ts';
import { BACKENDS, openTestDatabase, type TestDatabase } from '../src/db/testing.ts';
import { ERRORS } from '../src/errors.ts';
import { FsObjectStore } from '../src/storage/fs-object-store.ts';
import { retryDelay } from '../src/tasks/retry-policy.ts';
import { type TaskHooks, TaskStore } from '../src/tasks/task-store.ts';
import { wireTasks } from '../src/tasks/task-wiring.ts';

// The lifecycle of tasks, instances and backup files: what a settled task implies commits in
// the transaction that settles it (so nothing is left transient by a crash between the two), a
// backup file stays in use until the last restore from it settles, and the reconciler repairs
// transient statuses with no task behind them (left by a crash of an older version).

const ACCOUNT = 'acme';

describe.each(BACKENDS)('lifecycle on %s', (backend) => {
  let t: TestDatabase;
  let db: Db;
  let storeRoot: string;

  beforeEach(async () => {
    t = await openTestDatabase(backend);
    db = t.db;
    storeRoot = mkdtempSync(join(tmpdir(), 'lifecycle-store-'));
    for (const id of ['acp-a', 'acp-b']) {
      await db.instances.add({
        id,
        account: ACCOUNT,
        name: id,
        adbAddress: '127.0.0.1:1',
        imageId: 'img',
        imageVersion: '1',
        imageType: 'custom',
        instanceType: 'cpm.gx7.10xlarge',
        androidVersion: '14',
        sdk: 34,
        abi: 'x86_64',
        fingerprint: 'fp',
      });
    }
  });
  afterEach(async () => {
    await t?.dispose();
  });

  const deps = (): TaskDeps => ({
    db,
    connect: async () => {
      throw new Error('no phones here');
    },
    storeFor: () => new FsObjectStore(storeRoot),
    backup: { requireSuspension: false },
    abandonedAfterMs: 60_000,
  });
  const file = (status: 'BACKUPING' | 'RECOVERING' | 'AVAILABLE') =>
    db.backupFiles.create({
      account: ACCOUNT,
      instanceId: 'acp-a',
      instanceName: 'acp-a',
      name: 'f',
      description: '',
      path: 'oss://bucket/dir/',
      endpoint: 'e',
      bucket: 'bucket',
      objectKey: 'dir/f.tar.zst',
      apps: ['com.example.notes'],
      status,
    });
  const hooks = (): TaskHooks => wireTasks(TASKS, deps(), repositories, { baseMs: 1, maxMs: 1 }).hooks;
  const store = (h: TaskHooks = hooks()) => new TaskStore(db.kysely, h);
  const w1 = (task: { attempts: number } | undefined) => ({ owner: 'w1', attempt: task?.attempts ?? -1 });

  it('commits a failed backup task with its instance and file statuses, or none of them', async () => {
    const f = await file('BACKUPING');
    const { children } = await db.tasks.createBatch(ACCOUNT, {
      type: 'BackupApp',
      invokeId: 'r',
      param: {},
      children: [
        { instanceId: 'acp-a', instanceName: 'acp-a', param: { backupFileId: f.id, packages: ['com.example.notes'] } },
      ],
    });
    await db.instances.setStatus('acp-a', 'BACKUPING');
    const failing = store({
      onClaimed: hooks().onClaimed,
      onSettled: async () => {
        throw new Error('the database went away mid-transaction');
      },
    });
    const [claimed] = await failing.claim('w1', 1, 60_000);
    expect(claimed?.id).toBe(children[0]?.id);
    const outcome = { status: 'Failed' as const, errorCode: 'InstanceUnreachable', errorMsg: 'gone' };
    await expect(failing.settle(w1(claimed), claimed?.id as string, outcome)).rejects.toThrow(/went away/);
    // nothing committed: the task is still the worker's, to settle again
    expect((await db.tasks.get(ACCOUNT, claimed?.id as string))?.status).toBe('Processing');
    expect((await db.instances.get(ACCOUNT, 'acp-a'))?.status).toBe('BACKUPING');

    const settled = await store().settle(w1(claimed), claimed?.id as string, outcome);
    expect(settled?.status).toBe('Failed');
    expect(await db.instances.get(ACCOUNT, 'acp-a')).toMatchObject({
      status: 'BACKUP_FAILED',
      errorCode: 'InstanceUnreachable',
    });
    expect((await db.backupFiles.get(ACCOUNT, f.id))?.status).toBe('BACKUP_FAILED');
  });

  it('fences a run that lost its task: none of its writes lands, even when its runner holds the newer attempt', async () => {
    const f = await file('BACKUPING');
    await db.tasks.createBatch(ACCOUNT, {
      type: 'BackupApp',
      invokeId: 'r',
      param: {},
      children: [
        { instanceId: 'acp-a', instanceName: 'acp-a', param: { backupFileId: f.id, packages: ['com.example.notes'] } },
      ],
    });
    const s = store();
    const [first] = await s.claim('w1', 1, 60_000);
    const id = first?.id as string;
    // w1's run stalled: its lease lapsed, the task was recovered, and w1 itself claimed it again
    await db.kysely
      .updateTable('tasks')
      .set({ leaseExpires: new Date(0).toISOString() })
      .where('id', '=', id)
      .execute();
    await s.recoverExpired(3);
    const [second] = await s.claim('w1', 1, 60_000);
    expect(second?.attempts).toBe(2);
    const stale = w1(first);
    expect(await s.fence(stale, id, 60_000)).toBe(false);
    await s.progress(stale, id, 999, 999);
    expect(await s.settle(stale, id, { status: 'Finished', result: null })).toBeNull();
    expect(await s.retry(stale, id, 1, { code: 'InstanceUnreachable', message: 'x' })).toBeNull();
    expect(await db.tasks.get(ACCOUNT, id)).toMatchObject({ status: 'Processing', attempts: 2, bytesDone: 0 });
    expect((await db.backupFiles.get(ACCOUNT, f.id))?.status).toBe('BACKUPING');
    // the current attempt passes its fence and settles
    expect(await s.fence(w1(second), id, 60_000)).toBe(true);
    expect((await s.settle(w1(second), id, { status: 'Failed', errorCode: 'X', errorMsg: 'y' }))?.status).toBe(
      'Failed',
    );
  });

  it("refuses the fence of a run CancelTasks marked, and fails a dead runner's marked task instead of rerunning it", async () => {
    const f = await file('BACKUPING');
    await db.tasks.createBatch(ACCOUNT, {
      type: 'BackupApp',
      invokeId: 'r',
      param: {},
      children: [
        { instanceId: 'acp-a', instanceName: 'acp-a', param: { backupFileId: f.id, packages: ['com.example.notes'] } },
      ],
    });
    const s = store();
    const [run] = await s.claim('w1', 1, 60_000);
    const id = run?.id as string;
    expect(await s.cancel(id, 'a test')).toMatchObject({ settled: false });
    expect(await s.cancelRequested('w1')).toEqual([id]);
    expect(await s.fence(w1(run), id, 60_000)).toBe(false);
    await db.kysely
      .updateTable('tasks')
      .set({ leaseExpires: new Date(0).toISOString() })
      .where('id', '=', id)
      .execute();
    const [failed] = await s.recoverExpired(3);
    expect(failed).toMatchObject({ id, status: 'Failed', errorCode: 'TaskCancelled' });
    expect((await db.backupFiles.get(ACCOUNT, f.id))?.status).toBe('BACKUP_FAILED');
  });

  it('keeps a backup file RECOVERING until the last restore from it settles', async () => {
    const f = await file('RECOVERING');
    const { children } = await db.tasks.createBatch(ACCOUNT, {
      type: 'RecoverApp',
      invokeId: 'r',
      param: {},
      resourceId: f.id,
      children: ['acp-a', 'acp-b'].map((id) => ({ instanceId: id, instanceName: id, param: { backupFileId: f.id } })),
    });
    const s = store();
    const claimed = await s.claim('w1', 2, 60_000);
    expect(claimed).toHaveLength(2);
    await s.settle(w1(claimed[0]), children[0]?.id as string, { status: 'Finished', result: null });
    // the other target still reads it: DeleteBackupFile refuses RECOVERING files
    expect((await db.backupFiles.get(ACCOUNT, f.id))?.status).toBe('RECOVERING');
    expect((await db.instances.get(ACCOUNT, 'acp-a'))?.status).toBe('RUNNING');
    await s.settle(w1(claimed[1]), children[1]?.id as string, {
      status: 'Failed',
      errorCode: 'AbiMismatch',
      errorMsg: 'x',
    });
    // a target that refused it says nothing about the file itself
    expect((await db.backupFiles.get(ACCOUNT, f.id))?.status).toBe('AVAILABLE');
    expect((await db.instances.get(ACCOUNT, 'acp-b'))?.status).toBe('RECOVER_FAILED');
  });

  it('marks a backup file RECOVERY_FAILED only when a restore failed because of the file', async () => {
    const f = await file('RECOVERING');
    const { children } = await db.tasks.createBatch(ACCOUNT, {
      type: 'RecoverApp',
      invokeId: 'r',
      param: {},
      resourceId: f.id,
      children: [{ instanceId: 'acp-a', instanceName: 'acp-a', param: { backupFileId: f.id } }],
    });
    const s = store();
    const [claimed] = await s.claim('w1', 1, 60_000);
    const corrupt = { status: 'Failed' as const, errorCode: 'BackupFileCorrupted', errorMsg: 'a flipped byte' };
    await s.settle(w1(claimed), children[0]?.id as string, corrupt);
    expect((await db.backupFiles.get(ACCOUNT, f.id))?.status).toBe('RECOVERY_FAILED');
  });

  it('reconciles transient statuses that no task stands behind, and leaves busy ones alone', async () => {
    const stuck = await file('BACKUPING');
    const dir = join(storeRoot, 'bucket', 'dir');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'f.tar.zst'), 'partial');
    // the temp file of a put whose process died long ago, and one of a put still writing
    writeFileSync(join(dir, '.cpb-tmp-dead'), 'half an archive');
    utimesSync(join(dir, '.cpb-tmp-dead'), new Date(Date.now() - 3_600_000), new Date(Date.now() - 3_600_000));
    writeFileSync(join(dir, '.cpb-tmp-live'), 'being written');
    const reading = await file('RECOVERING');
    await db.instances.setStatus('acp-a', 'BACKUPING');
    // acp-b has a running restore: neither it nor the file it reads may be touched
    const busyFile = await file('RECOVERING');
    await db.tasks.createBatch(ACCOUNT, {
      type: 'RecoverApp',
      invokeId: 'r',
      param: {},
      resourceId: busyFile.id,
      children: [{ instanceId: 'acp-b', instanceName: 'acp-b', param: { backupFileId: busyFile.id } }],
    });
    await db.instances.setStatus('acp-b', 'RECOVERING');

    const fixed = await reconcile(deps());
    expect(fixed.sort()).toEqual(
      [
        `backup file ${reading.id}: RECOVERING with no task → AVAILABLE`,
        `backup file ${stuck.id}: BACKUPING with no task → BACKUP_FAILED`,
        'instance acp-a: BACKUPING with no task → RUNNING',
        'oss://bucket/dir/ on e: 1 abandoned upload(s) removed',
      ].sort(),
    );
    expect(existsSync(join(dir, '.cpb-tmp-dead'))).toBe(false);
    expect(existsSync(join(dir, '.cpb-tmp-live'))).toBe(true);
    expect((await db.instances.get(ACCOUNT, 'acp-a'))?.status).toBe('RUNNING');
    expect((await db.instances.get(ACCOUNT, 'acp-b'))?.status).toBe('RECOVERING');
    expect((await db.backupFiles.get(ACCOUNT, busyFile.id))?.status).toBe('RECOVERING');
    expect(existsSync(join(dir, 'f.tar.zst'))).toBe(false);
    expect(await reconcile(deps())).toEqual([]);
  });
});

describe('the fence before a publish', () => {
  it('discards an archive whose run lost its task: nothing under its key, no temp file', async () => {
    const root = mkdtempSync(join(tmpdir(), 'fence-store-'));
    const store = new FsObjectStore(root);
    const opts = {
      signal: new AbortController().signal,
      onBytes: () => {},
      beforeCommit: async () => {
        throw ERRORS.taskInterrupted(1);
      },
    };
    const build = async (w: ArchiveWriter) => {
      await w.addFile('apps/com.example.notes/apk/base.apk', { mode: 0o644, uid: 0, gid: 0, size: 3, mtime: 0 }, [
        Buffer.from('abc'),
      ]);
    };
    await expect(storeArchive(store, 'bucket', 'dir/a.tar.zst', opts, build)).rejects.toMatchObject({
      code: 'TaskInterrupted',
    });
    expect(readdirSync(join(root, 'bucket', 'dir'))).toEqual([]);
    // the same archive with the fence passed is stored
    const passed = { ...opts, beforeCommit: async () => {} };
    expect((await storeArchive(store, 'bucket', 'dir/a.tar.zst', passed, build)).size).toBeGreaterThan(0);
    expect(readdirSync(join(root, 'bucket', 'dir'))).toEqual(['a.tar.zst']);
  });
});

describe('the retry policy', () => {
  const task = (attempts: number) => ({ type: 'BackupApp', attempts }) as Parameters<typeof retryDelay>[2];
  const rule = TASKS.BackupApp.retry;
  const backoff = { baseMs: 1000, maxMs: 5000 };
  const policy = (t: Parameters<typeof retryDelay>[2], e: Parameters<typeof retryDelay>[3], r?: () => number) =>
    retryDelay(rule, backoff, t, e, r);

  it('backs off exponentially with jitter, capped, for transient faults only, up to the attempt limit', () => {
    const reset = ERRORS.instanceUnreachable('acp-1', 'connection reset');
    expect(policy(task(1), reset, () => 0)).toBe(500);
    expect(policy(task(1), reset, () => 1)).toBe(1000);
    expect(policy(task(2), reset, () => 1)).toBe(2000);
    expect(retryDelay(rule, { baseMs: 1000, maxMs: 1500 }, task(2), reset, () => 1)).toBe(1500);
    expect(policy(task(3), reset)).toBeNull();
    expect(policy(task(1), ERRORS.appNotInstalled('com.x.y', 'acp-1'))).toBeNull();
    expect(policy(task(1), ERRORS.storageFailed('PUT: 503', { transient: true }), () => 0)).toBe(500);
    expect(policy(task(1), ERRORS.storageFailed('PUT: 403'))).toBeNull();
  });
});
