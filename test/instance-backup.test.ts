import { chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectAdb } from '../src/devices/adb/connect.ts';
import type { Device } from '../src/devices/device.ts';
import { type Call, client } from './helpers/clients.ts';
import { type Stack, startStack } from './helpers/stack.ts';
import { type Row, waitTask } from './helpers/wait.ts';

// BackupAndroidInstance and RecoverAndroidInstance end to end through the real Alibaba clients:
// every third-party app, user 0's shared storage and the restorable settings of one emulated phone
// onto another; the other phone keeps its identity; bad input refused before anything is written.

const ENDPOINT = 'oss-cn-hangzhou.aliyuncs.com';
const MEDIA_RW = 1023;
let stack: Stack;
let call: Call;
const devices: Device[] = [];
const host = (phone: number, p: string) => join(stack.phones[phone]?.phone.root as string, p);

beforeAll(async () => {
  stack = await startStack({ phones: 2 });
  call = client('openapi-core V3', stack.url, stack.key);
  for (const phone of stack.phones)
    devices.push(await connectAdb(phone.address, { keyDir: join(stack.dataDir, 'adb') }));
  mkdirSync(host(0, 'data/media/0/DCIM/Camera'), { recursive: true });
  writeFileSync(host(0, 'data/media/0/DCIM/Camera/IMG_1.jpg'), Buffer.alloc(200_000, 3));
  chownSync(host(0, 'data/media/0/DCIM/Camera/IMG_1.jpg'), MEDIA_RW, MEDIA_RW);
  await devices[0]?.putSetting('system', 'screen_off_timeout', '600000');
  await devices[0]?.putSetting('global', 'window_animation_scale', '0.5');
}, 120_000);
afterAll(async () => {
  for (const d of devices) await d.close();
  await stack?.close();
});

const first = (res: Record<string, unknown>) => (res.Data as Row[])[0] as Row;
const fileRow = async (id: string) =>
  ((await call('DescribeBackupFiles', { BackupFileId: id })).Data as Row[])[0] as Row;

describe('a whole-instance backup', () => {
  let fileId: string;

  it('holds every third-party app, the shared storage and the settings, and says so', async () => {
    const res = await call('BackupAndroidInstance', {
      AndroidInstanceIdList: [stack.ids[0]],
      BackupFilePath: 'oss://whole/daily/',
      UploadEndpoint: ENDPOINT,
    });
    const item = first(res);
    const task = await waitTask(call, String(item.TaskId), 120_000);
    expect(task).toMatchObject({ TaskStatus: 'Finished', TaskType: 'BackupAndroidInstance' });
    fileId = String(item.BackupFileId);
    const row = await fileRow(fileId);
    const thirdParty = await devices[0]?.listPackages({ thirdParty: true });
    expect(thirdParty?.length).toBeGreaterThan(1);
    expect(row).toMatchObject({ Status: 'AVAILABLE', BackupAll: true, SourceFilePathList: ['/data/media/0'] });
    expect([...(row.SourceAppInfoList as string[])].sort()).toEqual(thirdParty);
    expect(JSON.parse(String(task.Result)).apps.sort()).toEqual(thirdParty);
    const onlyWhole = (await call('DescribeBackupFiles', { BackupAll: true })).Data as Row[];
    expect(onlyWhole.map((f) => f.BackupFileId)).toEqual([fileId]);
  }, 180_000);

  it('restores onto another phone: apps with their data, shared storage, settings, and not the identity', async () => {
    const idBefore = (await devices[1]?.settings('secure'))?.get('android_id');
    const res = await call('RecoverAndroidInstance', {
      AndroidInstanceIdList: [stack.ids[1]],
      BackupFileId: fileId,
      BackupFilePath: (await fileRow(fileId)).BackupFilePath,
      UploadType: 'OSS',
    });
    const task = await waitTask(call, String(first(res).TaskId), 180_000);
    expect(task).toMatchObject({ TaskStatus: 'Finished', TaskType: 'RecoverAndroidInstance' });
    expect(JSON.parse(String(task.Result)).settings.sort()).toEqual([
      'global/window_animation_scale',
      'system/screen_off_timeout',
    ]);
    expect(readFileSync(host(1, 'data/media/0/DCIM/Camera/IMG_1.jpg'))).toEqual(Buffer.alloc(200_000, 3));
    const notes = 'data/user/0/com.example.notes';
    expect(existsSync(host(1, notes))).toBe(true);
    expect(await devices[1]?.listPackages({ thirdParty: true })).toEqual(
      await devices[0]?.listPackages({ thirdParty: true }),
    );
    expect((await devices[1]?.settings('system'))?.get('screen_off_timeout')).toBe('600000');
    expect((await devices[1]?.settings('secure'))?.get('android_id')).toBe(idBefore);
    expect((await fileRow(fileId)).Status).toBe('AVAILABLE');
  }, 240_000);

  it('refuses an app backup as a whole-instance one, another account’s file, and a missing UploadType', async () => {
    const app = await call('BackupApp', {
      AndroidInstanceIdList: [stack.ids[0]],
      SourceAppList: ['com.example.notes'],
      BackupFilePath: 'oss://whole/apps/',
      UploadEndpoint: ENDPOINT,
    });
    await waitTask(call, String(first(app).TaskId));
    const code = (p: Promise<unknown>) =>
      p.then(
        () => 'succeeded',
        (e: { code?: string }) => String(e.code),
      );
    const recover = (params: Record<string, unknown>) =>
      call('RecoverAndroidInstance', { AndroidInstanceIdList: [stack.ids[1]], UploadType: 'OSS', ...params });
    expect(await code(recover({ BackupFileId: first(app).BackupFileId }))).toBe('InvalidParameter');
    const other = await stack.service.db.backupFiles.create({
      account: 'someone-else',
      instanceId: 'acp-x',
      instanceName: 'x',
      name: 'x.tar.zst',
      description: '',
      path: 'oss://whole/x/',
      endpoint: ENDPOINT,
      bucket: 'whole',
      objectKey: 'x/x.tar.zst',
      apps: [],
      backupAll: true,
      status: 'AVAILABLE',
    });
    expect(await code(recover({ BackupFileId: other.id }))).toBe('InvalidBackupFileId.NotFound');
    const noType = call('RecoverAndroidInstance', { AndroidInstanceIdList: [stack.ids[1]], BackupFileId: fileId });
    expect(await code(noType)).toBe('MissingParameter');
    const tasks = (await call('DescribeTasks', { TaskType: 'RecoverAndroidInstance', Level: 2 })).Data as Row[];
    expect(tasks).toHaveLength(1);
  }, 120_000);
});
