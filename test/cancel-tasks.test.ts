import { execFile, execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reconcile } from '../src/backup/reconcile.ts';
import { connectAdb } from '../src/devices/adb/connect.ts';
import type { Device } from '../src/devices/device.ts';
import { objectStoreFor } from '../src/storage/endpoints.ts';
import { type Call, client } from './helpers/clients.ts';
import { type Stack, startStack } from './helpers/stack.ts';
import { snapshot } from './helpers/tree.ts';
import { type Row, waitFor, waitTask } from './helpers/wait.ts';

// CancelTasks (our addition) and what it must leave: a waiting task fails at once; a running
// backup stops within a poll interval with the app resumed and nothing stored; a running restore
// stops with the target as it was; every id is checked before anything is cancelled. And the
// suspensions a killed process left: lifted by the next task on the phone, or the reconciler.

const ENDPOINT = 'oss-cn-hangzhou.aliyuncs.com';
const NOTES = 'com.example.notes';
const BIN = fileURLToPath(new URL('../bin/cloudphone-backup.js', import.meta.url));

let stack: Stack;
let call: Call;
let device: Device;

beforeAll(async () => {
  stack = await startStack({ phones: 2, configFile: { worker: { retryBaseMs: 50, retryMaxMs: 100 } } });
  call = client('openapi-core V3', stack.url, stack.key);
  device = await connectAdb(stack.phones[0]?.address as string, { keyDir: join(stack.dataDir, 'adb') });
}, 60_000);
afterAll(async () => {
  await device?.close();
  await stack?.close();
});

const backup = (instance = stack.ids[0] as string, path = 'oss://bucket/cancel/') =>
  call('BackupApp', {
    AndroidInstanceIdList: [instance],
    SourceAppList: [NOTES],
    BackupFilePath: path,
    UploadEndpoint: ENDPOINT,
  });
const childOf = (res: Record<string, unknown>) => (res.Data as Row[])[0] as Row;
const cancel = (ids: string[]) => call('CancelTasks', { TaskIds: ids });
const status = async (id: string) => ((await call('DescribeTasks', { TaskIds: [id] })).Data as Row[])[0] as Row;
const fileOf = async (id: string) =>
  ((await call('DescribeBackupFiles', { BackupFileId: id })).Data as Row[])[0] as Row | undefined;
const storedUnder = (dir: string) => {
  try {
    return readdirSync(join(stack.dataDir, 'objects', ENDPOINT, 'bucket', dir));
  } catch {
    return [];
  }
};
/** a big file in the app's folder, so a backup or restore of it runs for a while */
const bulk = (phone: number, mb: number) => {
  const path = join(stack.phones[phone]?.phone.root as string, 'data/user/0', NOTES, 'files', 'bulk.bin');
  execFileSync('sh', ['-c', `head -c ${mb * 1024 * 1024} /dev/urandom > '${path}'`]);
};
const bytesPast = (taskId: string, n: number) => waitFor(async () => Number((await status(taskId)).BytesDone) > n);

describe('CancelTasks', () => {
  it('fails a waiting task at once and leaves the running one and its phone alone', async () => {
    bulk(0, 120);
    const first = childOf(await backup());
    const second = childOf(await backup());
    await bytesPast(String(first.TaskId), 1024 * 1024);
    const res = await cancel([String(second.TaskId)]);
    expect(res.Data).toEqual([
      { TaskId: second.TaskId, ParentTaskId: expect.any(String), TaskStatus: 'Failed', Cancelled: true },
    ]);
    expect(await status(String(second.TaskId))).toMatchObject({ TaskStatus: 'Failed', ErrorCode: 'TaskCancelled' });
    expect((await fileOf(String(second.BackupFileId)))?.Status).toBe('BACKUP_FAILED');
    // the running backup still owns the phone's status, and finishes
    const [model] = (await call('DescribeAndroidInstances', { AndroidInstanceIds: [stack.ids[0]] }))
      .InstanceModel as Row[];
    expect(model?.AndroidInstanceStatus).toBe('BACKUPING');
    expect(await waitTask(call, String(first.TaskId))).toMatchObject({ TaskStatus: 'Finished' });
    expect((await fileOf(String(first.BackupFileId)))?.Status).toBe('AVAILABLE');
  }, 120_000);

  it('stops a running backup: the app resumed, nothing stored, the phone usable at once', async () => {
    bulk(0, 300);
    const child = childOf(await backup(stack.ids[0], 'oss://bucket/stopped/'));
    await bytesPast(String(child.TaskId), 20 * 1024 * 1024);
    expect((await device.packageInfo(NOTES))?.suspended).toBe(true);
    const started = Date.now();
    const res = await cancel([String(child.TaskId)]);
    expect((res.Data as Row[])[0]).toMatchObject({ TaskStatus: 'Processing', Cancelled: true });
    const done = await waitTask(call, String(child.TaskId), 20_000);
    expect(done).toMatchObject({ TaskStatus: 'Failed', ErrorCode: 'TaskCancelled' });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect((await device.packageInfo(NOTES))?.suspended).toBe(false);
    expect(await stack.service.db.suspensions.list(stack.ids[0])).toEqual([]);
    expect((await fileOf(String(child.BackupFileId)))?.Status).toBe('BACKUP_FAILED');
    expect(storedUnder('stopped')).toEqual([]);
    bulk(0, 1);
    const again = childOf(await backup(stack.ids[0], 'oss://bucket/again/'));
    expect(await waitTask(call, String(again.TaskId))).toMatchObject({ TaskStatus: 'Finished' });
  }, 120_000);

  it('stops a running restore before it touches the target, which stays as it was', async () => {
    bulk(0, 250);
    const made = childOf(await backup(stack.ids[0], 'oss://bucket/source/'));
    expect(await waitTask(call, String(made.TaskId), 90_000)).toMatchObject({ TaskStatus: 'Finished' });
    const target = join(stack.phones[1]?.phone.root as string, 'data/user/0', NOTES);
    const before = snapshot(target);
    const res = await call('RecoverApp', {
      BackupFileId: made.BackupFileId,
      AndroidInstanceIdList: [stack.ids[1]],
      UploadType: 'OSS',
    });
    const child = childOf(res);
    await bytesPast(String(child.TaskId), 10 * 1024 * 1024);
    await cancel([String(res.TaskId)]); // the batch id: every instance task of it
    expect(await waitTask(call, String(child.TaskId), 20_000)).toMatchObject({
      TaskStatus: 'Failed',
      ErrorCode: 'TaskCancelled',
    });
    expect(snapshot(target)).toEqual(before);
    // a cancelled restore says nothing against the file: it is restorable, and deletable
    expect((await fileOf(String(made.BackupFileId)))?.Status).toBe('AVAILABLE');
    const [model] = (await call('DescribeAndroidInstances', { AndroidInstanceIds: [stack.ids[1]] }))
      .InstanceModel as Row[];
    expect(model).toMatchObject({ AndroidInstanceStatus: 'RECOVER_FAILED', ErrorCode: 'TaskCancelled' });
  }, 180_000);

  it('checks every id before cancelling any, and reports settled tasks as they are', async () => {
    bulk(0, 1);
    const done = childOf(await backup());
    await waitTask(call, String(done.TaskId));
    const other = await stack.service.db.tasks.createBatch('someone-else', {
      type: 'BackupApp',
      invokeId: 'x',
      param: {},
      children: [],
    });
    const waiting = childOf(await backup(stack.ids[1]));
    for (const ids of [
      [String(waiting.TaskId), 't-doesnotexist'],
      [String(waiting.TaskId), other.batch.id],
    ]) {
      const err = await cancel(ids).then(
        () => null,
        (e: { code?: string }) => e,
      );
      expect(err?.code).toBe('InvalidTaskId.NotFound');
    }
    expect((await status(String(waiting.TaskId))).ErrorCode).not.toBe('TaskCancelled');
    const res = await cancel([String(done.TaskId)]);
    expect(res.Data).toEqual([
      expect.objectContaining({ TaskId: done.TaskId, TaskStatus: 'Finished', Cancelled: false }),
    ]);
    await waitTask(call, String(waiting.TaskId));
  }, 120_000);

  it('is there on the command line as `tasks cancel`', async () => {
    bulk(0, 200);
    const child = childOf(await backup(stack.ids[0], 'oss://bucket/cli/'));
    await bytesPast(String(child.TaskId), 1024 * 1024);
    const { stdout } = await promisify(execFile)(process.execPath, [BIN, 'tasks', 'cancel', String(child.TaskId)], {
      env: {
        ...process.env,
        CLOUDPHONE_ENDPOINT: stack.url,
        ALIBABA_CLOUD_ACCESS_KEY_ID: stack.key.accessKeyId,
        ALIBABA_CLOUD_ACCESS_KEY_SECRET: stack.key.accessKeySecret,
      },
    });
    expect(JSON.parse(stdout)).toMatchObject({ Count: 1, Data: [{ TaskId: child.TaskId, Cancelled: true }] });
    expect(await waitTask(call, String(child.TaskId), 20_000)).toMatchObject({ ErrorCode: 'TaskCancelled' });
    expect((await device.packageInfo(NOTES))?.suspended).toBe(false);
  }, 120_000);
});

describe('suspensions a killed process left', () => {
  /** what a process killed mid-backup leaves: the app suspended by us, and our record of it */
  const leaveSuspended = async (phone: number) => {
    const d = await connectAdb(stack.phones[phone]?.address as string, { keyDir: join(stack.dataDir, 'adb') });
    await stack.service.db.suspensions.record(stack.ids[phone] as string, NOTES, 't-killed');
    expect(await d.suspend(NOTES)).toBe(true);
    return d;
  };

  it('are lifted by the next task on that phone before it reads any package', async () => {
    bulk(1, 1);
    const d = await leaveSuspended(1);
    const child = childOf(await backup(stack.ids[1], 'oss://bucket/next/'));
    const done = await waitTask(call, String(child.TaskId));
    expect(done).toMatchObject({ TaskStatus: 'Finished' });
    // it was suspended and resumed by this backup, not copied as "suspended by someone else"
    expect(JSON.parse(String(done.Result)).warnings).toEqual([]);
    expect((await d.packageInfo(NOTES))?.suspended).toBe(false);
    expect(await stack.service.db.suspensions.list()).toEqual([]);
    await d.close();
  }, 60_000);

  it('are lifted by the reconciler on a phone no task is about to use, and kept while it is away', async () => {
    const d = await leaveSuspended(1);
    const keyDir = join(stack.dataDir, 'adb');
    const deps = {
      db: stack.service.db,
      connect: (address: string) => connectAdb(address, { keyDir, timeoutMs: 2_000 }),
      storeFor: (e: string) => objectStoreFor(e, { default: { driver: 'fs' }, endpoints: {} }, stack.dataDir),
      backup: { requireSuspension: false },
      abandonedAfterMs: 60_000,
    };
    const away = { ...deps, connect: () => Promise.reject(new Error('connection refused')) };
    expect(await reconcile(away)).toContain(
      `instance ${stack.ids[1]}: suspensions left in place, phone unreachable (connection refused)`,
    );
    expect(await stack.service.db.suspensions.list()).toHaveLength(1);
    expect(await reconcile(deps)).toContain(`instance ${stack.ids[1]}: ${NOTES} resumed`);
    expect((await d.packageInfo(NOTES))?.suspended).toBe(false);
    expect(await stack.service.db.suspensions.list()).toEqual([]);
    await d.close();
  }, 60_000);
});
