import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readdirSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Call, client } from './helpers/clients.ts';
import { type Stack, startStack } from './helpers/stack.ts';
import { snapshot } from './helpers/tree.ts';
import { type Row, waitTask } from './helpers/wait.ts';

// RecoveryFile end to end: a BackupFile of phone 0 replicated onto phones 1 and 2 and restored
// onto phone 0 itself, compared entry by entry (type, mode, owner, mtime, content) and label by
// label with what phone 0 held; what the backup excluded stays as the target had it; a target
// that cannot take a path is refused before it is touched; another account's file does not exist.

const ENDPOINT = 'oss-cn-beijing-internal.aliyuncs.com';
const MEDIA_RW = 1023;
const SHELL = 2000;
const DCIM = '/data/media/0/DCIM';
const X = '/data/local/tmp/x';
const LABEL_X = 'u:object_r:shell_data_file:s0:c10,c20';

let stack: Stack;
let call: Call;
const host = (phone: number, p: string) => join(stack.phones[phone]?.phone.root as string, p);

function put(phone: number, path: string, body: string, uid: number, gid: number, mode: number) {
  writeFileSync(host(phone, path), body);
  chownSync(host(phone, path), uid, gid);
  chmodSync(host(phone, path), mode);
  utimesSync(host(phone, path), 1_650_000_000, 1_650_000_000);
}
function dir(phone: number, path: string, uid: number, gid: number, mode: number) {
  mkdirSync(host(phone, path), { recursive: true });
  chownSync(host(phone, path), uid, gid);
  chmodSync(host(phone, path), mode);
}

beforeAll(async () => {
  stack = await startStack({ phones: 3, seedApps: false });
  call = client('openapi-core V3', stack.url, stack.key);
  dir(0, `${DCIM}/Camera`, MEDIA_RW, MEDIA_RW, 0o2770);
  chmodSync(host(0, DCIM), 0o2770);
  chownSync(host(0, DCIM), MEDIA_RW, MEDIA_RW);
  put(0, `${DCIM}/Camera/IMG_1.jpg`, 'jpeg bytes', MEDIA_RW, MEDIA_RW, 0o660);
  dir(0, `${DCIM}/.thumbnails`, MEDIA_RW, MEDIA_RW, 0o2770);
  put(0, `${DCIM}/.thumbnails/t1`, 'source thumbnail', MEDIA_RW, MEDIA_RW, 0o660);
  dir(0, X, SHELL, SHELL, 0o750);
  dir(0, `${X}/sub`, 10_123, 10_123, 0o700);
  put(0, `${X}/sub/deep.txt`, 'deep', 10_123, 10_123, 0o600);
  put(0, `${X}/notes.txt`, 'hello', SHELL, SHELL, 0o640);
  symlinkSync('sub/deep.txt', host(0, `${X}/link`));
  spawnSync('mkfifo', [host(0, `${X}/pipe`)]);
  for (const d of [`${X}/sub`, X]) utimesSync(host(0, d), 1_600_000_000, 1_600_000_000);
  await stack.phones[0]?.phone.labels.setRecursive(X, LABEL_X);
  // phone 1 has its own copies, to be replaced, and its own thumbnails, to be kept
  dir(1, X, 0, 0, 0o777);
  put(1, `${X}/stale.txt`, 'from before', 0, 0, 0o666);
  dir(1, `${DCIM}/.thumbnails`, MEDIA_RW, MEDIA_RW, 0o2770);
  put(1, `${DCIM}/.thumbnails/mine`, 'target thumbnail', MEDIA_RW, MEDIA_RW, 0o660);
}, 120_000);
afterAll(() => stack?.close());

async function backupFile(params: Record<string, unknown> = {}) {
  const res = await call('BackupFile', {
    AndroidInstanceIdList: [stack.ids[0]],
    SourceFilePathList: [DCIM, X],
    ExcludeSourceFilePathList: [`${DCIM}/.thumbnails`],
    BackupFilePath: 'oss://replicas/phone0/',
    UploadEndpoint: ENDPOINT,
    ...params,
  });
  const item = (res.Data as Row[])[0] as Row;
  expect((await waitTask(call, String(item.TaskId), 120_000)).TaskStatus).toBe('Finished');
  return String(item.BackupFileId);
}

async function recover(params: Record<string, unknown>, c: Call = call) {
  const res = await c('RecoveryFile', { UploadType: 'OSS', ...params });
  const batch = await waitTask(c, String(res.TaskId), 120_000);
  const children = (await c('DescribeTasks', { ParentTaskId: res.TaskId, Level: 2 })).Data as Row[];
  return { res, batch, children };
}

const notThumbs = (rel: string) => rel === '.thumbnails';
const labels = async (phone: number, path: string) =>
  (await stack.phones[phone]?.phone.labels.getRecursive(path))?.map(([p, c]) => [p, c]);

describe('RecoveryFile', () => {
  let fileId: string;
  let dcim: ReturnType<typeof snapshot>;
  let x: ReturnType<typeof snapshot>;

  beforeAll(async () => {
    fileId = await backupFile();
    dcim = snapshot(host(0, DCIM), { skip: notThumbs });
    x = snapshot(host(0, X));
  }, 120_000);

  it('replicates onto two phones: owners, modes, mtimes, links and labels as on the source', async () => {
    const { res, batch, children } = await recover({ BackupFileId: fileId, AndroidInstanceIdList: stack.ids.slice(1) });
    expect(res).toMatchObject({ Count: 2, Data: stack.ids.slice(1).map((id) => ({ AndroidInstanceId: id })) });
    expect(batch).toMatchObject({ TaskStatus: 'Finished', TaskType: 'RecoverFile', SuccessChildCount: 2 });
    for (const child of children) {
      expect(JSON.parse(String(child.Result))).toMatchObject({ apps: [], paths: [DCIM, X], warnings: [] });
    }
    for (const phone of [1, 2]) {
      expect(snapshot(host(phone, DCIM), { skip: notThumbs }), `phone ${phone} DCIM`).toEqual(dcim);
      expect(snapshot(host(phone, X)), `phone ${phone} x`).toEqual(x);
      expect((await labels(phone, X))?.every(([, c]) => c === LABEL_X)).toBe(true);
      expect(await labels(phone, X)).toEqual(await labels(0, X));
      // no staging, trash or journal is left behind
      expect(readdirSync(host(phone, '/data/local/tmp')).filter((n) => n.startsWith('.cpb-'))).toEqual([]);
      expect(readdirSync(host(phone, '/data/media/0')).filter((n) => n.startsWith('.cpb-'))).toEqual([]);
    }
    // what phone 1 had in x is gone; its thumbnails, excluded from the backup, are its own still
    expect(existsSync(host(1, `${X}/stale.txt`))).toBe(false);
    expect(readdirSync(host(1, `${DCIM}/.thumbnails`))).toEqual(['mine']);
    expect(existsSync(host(2, `${DCIM}/.thumbnails`))).toBe(false);
    const file = ((await call('DescribeBackupFiles', { BackupFileId: fileId })).Data as Row[])[0];
    expect(file).toMatchObject({ Status: 'AVAILABLE', SourceFilePathList: [DCIM, X] });
  }, 120_000);

  it('restores the source phone itself, named by BackupFilePath alone', async () => {
    rmSync(host(0, `${X}/sub`), { recursive: true });
    put(0, `${X}/notes.txt`, 'changed since', SHELL, SHELL, 0o666);
    put(0, `${X}/new.txt`, 'added since', SHELL, SHELL, 0o666);
    const file = ((await call('DescribeBackupFiles', { BackupFileId: fileId })).Data as Row[])[0] as Row;
    const { batch } = await recover({ BackupFilePath: file.BackupFilePath, AndroidInstanceIdList: [stack.ids[0]] });
    expect(batch.TaskStatus).toBe('Finished');
    expect(snapshot(host(0, X))).toEqual(x);
    expect(readdirSync(host(0, `${DCIM}/.thumbnails`))).toEqual(['t1']);
  }, 120_000);

  it('refuses a target whose folder is missing before touching anything', async () => {
    const other = await backupFile({ SourceFilePathList: ['/data/local/tmp/x/sub'], ExcludeSourceFilePathList: [] });
    rmSync(host(2, X), { recursive: true });
    mkdirSync(host(2, `${DCIM}/keep`));
    const { batch, children } = await recover({ BackupFileId: other, AndroidInstanceIdList: [stack.ids[2]] });
    expect(batch.TaskStatus).toBe('Failed');
    expect(children[0]).toMatchObject({ ErrorCode: 'DeviceOperationFailed' });
    expect(String(children[0]?.ErrorMsg)).toContain('its folder /data/local/tmp/x does not exist on the target');
    expect(existsSync(host(2, X))).toBe(false);
    expect(readdirSync(host(2, '/data/local/tmp')).filter((n) => n.startsWith('.cpb-'))).toEqual([]);
    const file = ((await call('DescribeBackupFiles', { BackupFileId: other })).Data as Row[])[0];
    // the target refused it: the file itself is fine
    expect(file?.Status).toBe('AVAILABLE');
  }, 120_000);

  it('gives a partial backup back as PART_BACKUP_FINISHED once restored', async () => {
    const part = await backupFile({ SourceFilePathList: [X, '/data/local/tmp/absent'], ExcludeSourceFilePathList: [] });
    const { batch } = await recover({ BackupFileId: part, AndroidInstanceIdList: [stack.ids[1]] });
    expect(batch.TaskStatus).toBe('Finished');
    expect(snapshot(host(1, X))).toEqual(x);
    const file = ((await call('DescribeBackupFiles', { BackupFileId: part })).Data as Row[])[0];
    expect(file?.Status).toBe('PART_BACKUP_FINISHED');
  }, 120_000);

  it('refuses bad requests with their codes', async () => {
    const other = await stack.service.db.accounts.createKey('someone-else');
    const stranger = client('pop-core POST', stack.url, other);
    const file = ((await call('DescribeBackupFiles', { BackupFileId: fileId })).Data as Row[])[0] as Row;
    const ids = [stack.ids[0]];
    // another account's backup file is reported as missing, by id and by path; so are its instances
    await expect(stranger('RecoveryFile', { BackupFileId: fileId, AndroidInstanceIdList: ids })).rejects.toMatchObject({
      code: 'InvalidBackupFileId.NotFound',
    });
    await expect(
      stranger('RecoveryFile', { BackupFilePath: file.BackupFilePath, AndroidInstanceIdList: ids }),
    ).rejects.toMatchObject({ code: 'InvalidBackupFileId.NotFound' });
    await expect(call('RecoveryFile', { AndroidInstanceIdList: ids })).rejects.toMatchObject({
      code: 'MissingParameter',
    });
    await expect(call('RecoveryFile', { BackupFileId: fileId })).rejects.toMatchObject({ code: 'MissingParameter' });
    await expect(
      call('RecoveryFile', { BackupFilePath: 'oss://replicas/phone0/', AndroidInstanceIdList: ids }),
    ).rejects.toMatchObject({ code: 'InvalidParameter' });
    await expect(
      call('RecoveryFile', {
        BackupFileId: fileId,
        BackupFilePath: 'oss://replicas/other.tar.zst',
        AndroidInstanceIdList: ids,
      }),
    ).rejects.toMatchObject({ code: 'InvalidParameter' });
    await expect(
      call('RecoveryFile', {
        BackupFileId: fileId,
        UploadEndpoint: 'oss-cn-hangzhou.aliyuncs.com',
        AndroidInstanceIdList: ids,
      }),
    ).rejects.toMatchObject({ code: 'InvalidParameter' });
    await expect(
      call('RecoveryFile', { BackupFileId: fileId, BackupAll: true, AndroidInstanceIdList: ids }),
    ).rejects.toMatchObject({ code: 'InvalidParameter' });
    await expect(
      call('RecoveryFile', { BackupFileId: fileId, AndroidInstanceIdList: ['acp-nope'] }),
    ).rejects.toMatchObject({
      code: 'InvalidAndroidInstanceId.NotFound',
    });
    // RecoverApp cannot restore a backup without apps
    await expect(
      call('RecoverApp', { BackupFileId: fileId, AndroidInstanceIdList: ids, UploadType: 'OSS' }),
    ).rejects.toMatchObject({ code: 'InvalidParameter' });
  });
});
