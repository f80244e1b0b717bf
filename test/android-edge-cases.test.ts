import { copyFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectAdb } from '../src/devices/adb/connect.ts';
import type { Device } from '../src/devices/device.ts';
import { packageServiceOf } from '../src/emulator/android/package-service.ts';
import { FLAG } from '../src/emulator/android/permissions.ts';
import { shell } from '../src/emulator/android/testing.ts';
import { type Call, client } from './helpers/clients.ts';
import { type Stack, startStack } from './helpers/stack.ts';
import { snapshot } from './helpers/tree.ts';
import { type Row, waitTask } from './helpers/wait.ts';

// What a real phone does that the old client mishandled, one case each: CE storage still locked
// after boot, an app the package manager refuses to suspend when the operator asked for a
// consistent copy, a permission the target's policy fixed, and a relabel without a context.

const NOTES = 'com.example.notes';
const ENDPOINT = 'oss-cn-shenzhen.aliyuncs.com';

let stack: Stack;
let call: Call;
let device: Device;

beforeAll(async () => {
  stack = await startStack({ phones: 2, configFile: { backup: { requireSuspension: false } } });
  call = client('openapi-core V3', stack.url, stack.key);
  device = await connectAdb(stack.phones[1]?.address as string, { keyDir: join(stack.dataDir, 'adb') });
}, 120_000);
afterAll(async () => {
  await device?.close();
  await stack?.close();
});

async function backup(apps: string[], phone = 0) {
  const res = await call('BackupApp', {
    AndroidInstanceIdList: [stack.ids[phone]],
    SourceAppList: apps,
    BackupFilePath: 'oss://edges/x/',
    UploadEndpoint: ENDPOINT,
  });
  await waitTask(call, String(res.TaskId), 120_000);
  const [child] = (await call('DescribeTasks', { ParentTaskId: res.TaskId })).Data as Row[];
  return { child: child as Row, fileId: String((res.Data as Row[])[0]?.BackupFileId) };
}

describe('a phone whose user 0 has not unlocked since boot', () => {
  it('is refused with UserStorageLocked instead of giving a backup of encrypted names', async () => {
    const phone = stack.phones[0]?.phone;
    await phone?.lockCe();
    try {
      const { child, fileId } = await backup([NOTES]);
      expect(child).toMatchObject({ TaskStatus: 'Failed', ErrorCode: 'UserStorageLocked' });
      expect(String(child.ErrorMsg)).toMatch(/credential-encrypted storage of user 0 .* is locked/);
      const [file] = (await call('DescribeBackupFiles', { BackupFileId: fileId })).Data as Row[];
      expect(file?.Status).toBe('BACKUP_FAILED');
      // nothing was stored (the store's folder is not even made)
      const folder = join(stack.dataDir, 'objects', ENDPOINT, 'edges', 'x');
      expect(existsSync(folder) ? readdirSync(folder) : []).toEqual([]);
    } finally {
      await phone?.unlockCe();
    }
    expect((await backup([NOTES])).child.TaskStatus).toBe('Finished');
  }, 120_000);
});

describe('an app the package manager refuses to suspend', () => {
  it('is copied with a warning by default', async () => {
    const { child } = await backup(['com.example.launcher']);
    expect(child.TaskStatus).toBe('Finished');
    expect(JSON.parse(String(child.Result)).warnings).toEqual([
      expect.stringContaining('com.example.launcher: the package manager refused to suspend it'),
    ]);
  }, 60_000);

  it('fails the backup with AppSuspendRefused when a suspended copy is required', async () => {
    await stack.close();
    stack = await startStack({ phones: 2, configFile: { backup: { requireSuspension: true } } });
    call = client('openapi-core V3', stack.url, stack.key);
    await device.close();
    device = await connectAdb(stack.phones[1]?.address as string, { keyDir: join(stack.dataDir, 'adb') });
    const { child } = await backup([NOTES, 'com.example.launcher']);
    expect(child).toMatchObject({ TaskStatus: 'Failed', ErrorCode: 'AppSuspendRefused' });
    // what was suspended for the copy was resumed
    const dump = await shell(
      stack.phones[0]?.phone as NonNullable<Stack['phones'][0]>['phone'],
      `dumpsys package ${NOTES}`,
    );
    expect(dump.stdout).toMatch(/User 0:.* suspended=false/);
  }, 120_000);
});

describe('a restore onto a phone whose policy fixed a permission', () => {
  it('grants what it can and reports the fixed one instead of failing or staying silent', async () => {
    const { fileId } = await backup([NOTES]);
    const pm = packageServiceOf(stack.phones[1]?.phone as { root: string });
    await pm.setPermissionState(NOTES, 0, 'android.permission.CAMERA', { granted: false, flags: FLAG.POLICY_FIXED });
    await pm.setPermissionState(NOTES, 0, 'android.permission.READ_CONTACTS', { granted: true, flags: 0 });
    const res = await call('RecoverApp', {
      BackupFileId: fileId,
      AndroidInstanceIdList: [stack.ids[1]],
      UploadType: 'OSS',
    });
    await waitTask(call, String(res.TaskId), 120_000);
    const [child] = (await call('DescribeTasks', { ParentTaskId: res.TaskId })).Data as Row[];
    expect(child, String(child?.ErrorMsg)).toMatchObject({ TaskStatus: 'Finished' });
    expect(JSON.parse(String(child?.Result)).warnings).toEqual([
      expect.stringContaining(`${NOTES}: android.permission.CAMERA is fixed by the target's policy`),
    ]);
    const info = await device.packageInfo(NOTES);
    const state = (name: string) => info?.runtimePermissions.find((p) => p.name === name);
    expect(state('android.permission.CAMERA')).toMatchObject({ granted: false, flags: ['POLICY_FIXED'] });
    // granted on the target but not in the backup: revoked, so the grants are the backup's
    expect(state('android.permission.READ_CONTACTS')?.granted).toBe(false);
  }, 120_000);
});

describe('a restore onto a phone whose copy of the app has another signer', () => {
  const otherKey = async (user: string) => {
    const b = stack.phones[1]?.phone as NonNullable<Stack['phones'][0]>['phone'];
    copyFileSync(
      join(import.meta.dirname, '../fixtures/apks/notes-other-key.apk'),
      b.hostOf('/data/local/tmp/other.apk'),
    );
    await packageServiceOf(b).uninstall(NOTES, -1, false);
    expect((await shell(b, `pm install ${user} /data/local/tmp/other.apk`)).stdout).toMatch(/Success/);
    return b;
  };
  const restore = async (fileId: string) => {
    const res = await call('RecoverApp', {
      BackupFileId: fileId,
      AndroidInstanceIdList: [stack.ids[1]],
      UploadType: 'OSS',
    });
    await waitTask(call, String(res.TaskId), 120_000);
    return ((await call('DescribeTasks', { ParentTaskId: res.TaskId })).Data as Row[])[0] as Row;
  };

  it('replaces it when only user 0 has it, and says so', async () => {
    const { fileId } = await backup([NOTES]);
    await otherKey('--user 0');
    const child = await restore(fileId);
    expect(child, String(child.ErrorMsg)).toMatchObject({ TaskStatus: 'Finished' });
    expect(JSON.parse(String(child.Result)).warnings).toContainEqual(
      expect.stringMatching(
        /com\.example\.notes: the target's copy could not be updated \(INSTALL_FAILED_UPDATE_INCOMPATIBLE\); it was replaced/,
      ),
    );
    const source = await connectAdb(stack.phones[0]?.address as string, { keyDir: join(stack.dataDir, 'adb') });
    const want = (await source.packageInfo(NOTES))?.apks[0]?.size;
    await source.close();
    expect((await device.packageInfo(NOTES))?.apks[0]?.size).toBe(want);
  }, 120_000);

  it('changes nothing when another user has that copy too: uninstalling for user 0 would not help', async () => {
    const { fileId } = await backup([NOTES]);
    const b = await otherKey('');
    const before = snapshot(b.hostOf('/data/user_de/0'), { dirMtimes: false });
    const apk = (await device.packageInfo(NOTES))?.apks[0];
    const child = await restore(fileId);
    expect(child).toMatchObject({ TaskStatus: 'Failed', ErrorCode: 'DeviceOperationFailed' });
    expect(String(child.ErrorMsg)).toMatch(
      /INSTALL_FAILED_UPDATE_INCOMPATIBLE\), which is installed for users 10 too; nothing was changed/,
    );
    expect((await device.packageInfo(NOTES))?.apks[0]).toEqual(apk);
    expect(snapshot(b.hostOf('/data/user_de/0'), { dirMtimes: false })).toEqual(before);
  }, 120_000);
});

describe('a relabel without a context', () => {
  it('uses restorecon -RFD, which relabels an app folder’s contents, not only its top', async () => {
    const dir = `/data/user/0/${NOTES}`;
    const phone = stack.phones[1]?.phone;
    if (!phone) throw new Error('no phone');
    const want = await phone.labels.get(dir);
    await device.tarIn(`${dir}/files/copied`, device.tarOut(`/data/local/tmp`));
    await device.relabel(dir, 'u:object_r:system_data_file:s0');
    await device.relabel(dir);
    const labels = await phone.labels.getRecursive(dir);
    expect(labels.filter(([, c]) => c !== want)).toEqual([]);
  }, 60_000);
});
