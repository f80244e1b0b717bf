import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readFileSync,
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

// BackupFile end to end through the real Alibaba clients against an emulated phone: folders and a
// file with owners, modes and mtimes, an exclude applied on the phone (its bytes never read),
// what tar may not carry left out, paths that are not there (PART_BACKUP_FINISHED), and bad input
// refused before anything is written, including a path full of shell syntax taken literally.

const ENDPOINT = 'oss-cn-hangzhou-internal.aliyuncs.com';
const MEDIA_RW = 1023;
const SHELL = 2000;
const HOSTILE = "/data/local/tmp/$(touch /data/pwned);x'y`id`";

let stack: Stack;
let call: Call;
let pop: Call;
const root = () => stack.phones[0]?.phone.root as string;
const host = (p: string) => join(root(), p);

function put(path: string, body: string | Buffer, uid: number, gid: number, mode: number, mtime = 1_700_000_000) {
  writeFileSync(host(path), body);
  chownSync(host(path), uid, gid);
  chmodSync(host(path), mode);
  utimesSync(host(path), mtime, mtime);
}
function dir(path: string, uid: number, gid: number, mode: number) {
  mkdirSync(host(path), { recursive: true });
  chownSync(host(path), uid, gid);
  chmodSync(host(path), mode);
}

beforeAll(async () => {
  stack = await startStack({ phones: 1, seedApps: true });
  call = client('openapi-core V3', stack.url, stack.key);
  pop = client('pop-core GET', stack.url, stack.key);
  dir('/data/media/0/DCIM', MEDIA_RW, MEDIA_RW, 0o2770);
  dir('/data/media/0/DCIM/Camera', MEDIA_RW, MEDIA_RW, 0o2770);
  dir('/data/media/0/DCIM/.thumbnails', MEDIA_RW, MEDIA_RW, 0o2770);
  put('/data/media/0/DCIM/Camera/IMG_1.jpg', Buffer.alloc(300_000, 7), MEDIA_RW, MEDIA_RW, 0o660);
  put('/data/media/0/DCIM/Camera/[1] *.jpg', 'globbed name', MEDIA_RW, MEDIA_RW, 0o660);
  // what the exclude of "[1] *.jpg" would also drop if its brackets and star were left to fnmatch
  put('/data/media/0/DCIM/Camera/1 x.jpg', 'kept', MEDIA_RW, MEDIA_RW, 0o660);
  // 6 MB that must never leave the phone: excluded
  put('/data/media/0/DCIM/.thumbnails/big.bin', Buffer.alloc(6_000_000, 1), MEDIA_RW, MEDIA_RW, 0o660);
  dir('/data/local/tmp/x', SHELL, SHELL, 0o750);
  put('/data/local/tmp/x/notes.txt', 'hello', SHELL, SHELL, 0o640, 1_600_000_000);
  symlinkSync('notes.txt', host('/data/local/tmp/x/link'));
  spawnSync('mkfifo', [host('/data/local/tmp/x/pipe')]);
  put('/data/local/tmp/x/su', 'not really', 0, 0, 0o4755);
  const sock = host('/data/local/tmp/x/agent.sock');
  spawnSync('python3', ['-c', `import socket; socket.socket(socket.AF_UNIX).bind(${JSON.stringify(sock)})`]);
  put('/data/local/tmp/single.bin', 'one file', SHELL, SHELL, 0o600, 1_650_000_000);
  dir(HOSTILE, SHELL, SHELL, 0o755);
  put(`${HOSTILE}/inside`, 'literal', SHELL, SHELL, 0o644);
  symlinkSync('/system', host('/data/local/tmp/to-system'));
  await stack.phones[0]?.phone.labels.set('/data/local/tmp/x', 'u:object_r:shell_data_file:s0:c10,c20');
}, 120_000);
afterAll(() => stack?.close());

async function backup(c: Call, params: Record<string, unknown>) {
  const res = await c('BackupFile', {
    AndroidInstanceIdList: [stack.ids[0]],
    BackupFilePath: 'oss://files/daily/',
    UploadEndpoint: ENDPOINT,
    UploadType: 'OSS',
    ...params,
  });
  const item = (res.Data as Row[])[0] as Row;
  const task = await waitTask(c, String(item.TaskId), 120_000);
  const file = ((await c('DescribeBackupFiles', { BackupFileId: item.BackupFileId })).Data as Row[])[0] as Row;
  return { res, item, task, file };
}

function extract(file: Row, name: string): string {
  const url = new URL(String(file.BackupFilePath).replace('oss://', 'http://'));
  const object = join(stack.dataDir, 'objects', ENDPOINT, url.hostname, url.pathname);
  const out = join(stack.dir, name);
  mkdirSync(out);
  const tar = spawnSync('tar', ['--zstd', '-xpf', object, '-C', out, '--numeric-owner'], { encoding: 'utf8' });
  expect(tar.status, tar.stderr).toBe(0);
  const sums = spawnSync('sha256sum', ['--strict', '-c', 'SHA256SUMS'], { cwd: out, encoding: 'utf8' });
  expect(sums.status, sums.stderr).toBe(0);
  return out;
}

describe('BackupFile', () => {
  it('backs up folders and a file with owners, modes, mtimes and labels, excludes left on the phone', async () => {
    const { res, task, file } = await backup(call, {
      SourceFilePathList: ['/data/media/0/DCIM/', '/data/local/tmp//x', '/data/local/tmp/single.bin'],
      ExcludeSourceFilePathList: ['/data/media/0/DCIM/.thumbnails', '/data/media/0/DCIM/Camera/[1] *.jpg'],
      BackupFileName: 'photos',
      Description: 'e2e files',
    });
    expect(res).toMatchObject({ Count: 1, TaskId: expect.stringMatching(/^t-/) });
    expect(task).toMatchObject({ TaskStatus: 'Finished', TaskType: 'BackupFile' });
    // the 6 MB excluded file was never read: what crossed the wire is the rest
    expect(Number(task.BytesDone)).toBeGreaterThan(300_000);
    expect(Number(task.BytesDone)).toBeLessThan(1_000_000);
    const result = JSON.parse(String(task.Result));
    expect(result.failed).toEqual([]);
    expect(result.warnings.join('\n')).toContain('/data/local/tmp/x/su: a setuid');
    expect(file).toMatchObject({
      Status: 'AVAILABLE',
      BackupAll: false,
      SourceFilePathList: ['/data/media/0/DCIM', '/data/local/tmp/x', '/data/local/tmp/single.bin'],
      SourceAppInfoList: [],
    });
    const out = extract(file, 'photos');
    const manifest = JSON.parse(readFileSync(join(out, 'cloudphone-backup.json'), 'utf8'));
    expect(manifest.apps).toEqual([]);
    expect(manifest.paths.map((p: Row) => [p.path, p.type, p.uid, p.gid, p.mode])).toEqual([
      ['/data/media/0/DCIM', 'directory', MEDIA_RW, MEDIA_RW, 0o2770],
      ['/data/local/tmp/x', 'directory', SHELL, SHELL, 0o750],
      ['/data/local/tmp/single.bin', 'file', SHELL, SHELL, 0o600],
    ]);
    expect(manifest.paths[1].context).toBe('u:object_r:shell_data_file:s0:c10,c20');
    expect(manifest.paths[0].excludes).toEqual(['.thumbnails', 'Camera/[1] *.jpg']);
    expect(manifest.paths[1].skipped).toEqual([
      { path: 'agent.sock', type: 'socket' },
      { path: 'su', type: 'setuid' },
    ]);
    const excluded = (rel: string) => rel === '.thumbnails' || rel === 'Camera/[1] *.jpg';
    expect(existsSync(join(out, 'paths/0/Camera/1 x.jpg'))).toBe(true);
    expect(snapshot(join(out, 'paths/0'))).toEqual(snapshot(host('/data/media/0/DCIM'), { skip: excluded }));
    const unarchivable = (rel: string) => rel === 'su' || rel === 'agent.sock';
    expect(snapshot(join(out, 'paths/1'))).toEqual(snapshot(host('/data/local/tmp/x'), { skip: unarchivable }));
    expect(snapshot(join(out, 'paths/2/single.bin'))).toEqual(snapshot(host('/data/local/tmp/single.bin')));
  }, 120_000);

  it('takes a path full of shell syntax literally: it is backed up and nothing runs', async () => {
    const { task, file } = await backup(pop, { SourceFilePathList: [HOSTILE] });
    expect(task.TaskStatus).toBe('Finished');
    const out = extract(file, 'hostile');
    expect(readFileSync(join(out, 'paths/0/inside'), 'utf8')).toBe('literal');
    expect(existsSync(host('/data/pwned'))).toBe(false);
  }, 60_000);

  it('backs up what it can and says why the rest failed (PART_BACKUP_FINISHED)', async () => {
    const { task, file } = await backup(call, {
      SourceFilePathList: ['/data/local/tmp/x', '/data/local/tmp/missing', '/data/local/tmp/to-system'],
      SourceAppList: ['com.example.notes', 'com.example.absent'],
    });
    expect(task.TaskStatus).toBe('Finished');
    expect(file).toMatchObject({ Status: 'PART_BACKUP_FINISHED', SourceAppInfoList: expect.any(Array) });
    const { failed } = JSON.parse(String(task.Result));
    expect(failed).toEqual([
      { kind: 'app', item: 'com.example.absent', reason: expect.stringContaining('not installed') },
      { kind: 'path', item: '/data/local/tmp/missing', reason: 'does not exist on the phone' },
      {
        kind: 'path',
        item: '/data/local/tmp/to-system',
        reason: expect.stringContaining('resolves to /system, outside the allowed roots'),
      },
    ]);
    const out = extract(file, 'part');
    const manifest = JSON.parse(readFileSync(join(out, 'cloudphone-backup.json'), 'utf8'));
    expect(manifest.apps.map((a: Row) => a.package)).toEqual(['com.example.notes']);
    expect(manifest.paths.map((p: Row) => p.path)).toEqual(['/data/local/tmp/x']);
    expect(manifest.failed).toEqual(failed);
    const listed = await call('DescribeBackupFiles', { StatusList: ['PART_BACKUP_FINISHED'] });
    expect((listed.Data as Row[]).map((f) => f.BackupFileId)).toEqual([file.BackupFileId]);
  }, 120_000);

  it('fails with every reason when nothing could be backed up (BACKUP_FAILED)', async () => {
    const { task, file } = await backup(call, { SourceFilePathList: ['/data/local/tmp/gone', '/data/nothing'] });
    expect(task).toMatchObject({ TaskStatus: 'Failed', ErrorCode: 'FilePathNotFound' });
    expect(String(task.ErrorMsg)).toContain('/data/local/tmp/gone does not exist');
    expect(String(task.ErrorMsg)).toContain('/data/nothing does not exist');
    expect(file.Status).toBe('BACKUP_FAILED');
  }, 60_000);

  it.each([
    [{ SourceFilePathList: ['/data/local/tmp/../../system'] }, 'InvalidParameter', '".." segment'],
    [{ SourceFilePathList: ['/system/bin'] }, 'InvalidParameter', 'outside the folders'],
    [{ SourceFilePathList: ['data/local/tmp'] }, 'InvalidParameter', 'not an absolute path'],
    [{ SourceFilePathList: ['/data/local/tmp/a\nb'] }, 'InvalidParameter', 'control character'],
    [{ SourceFilePathList: ['/data/local', '/data/local/tmp'] }, 'InvalidParameter', 'overlap'],
    [
      { SourceFilePathList: ['/data/local/tmp/x'], ExcludeSourceFilePathList: ['/data/media/0'] },
      'InvalidParameter',
      'not inside any folder',
    ],
    [{ SourceFilePathList: ['/data/local/tmp/x'], BackupAll: true }, 'InvalidParameter', 'BackupAndroidInstance'],
    [{}, 'MissingParameter', 'SourceFilePathList'],
    [{ SourceFilePathList: ['/data/local/tmp/x'], UploadType: 'NAS' }, 'InvalidParameter', 'UploadType'],
  ])('refuses %j with %s before anything is written', async (params, code, text) => {
    const before = await call('DescribeBackupFiles', { MaxResults: 100 });
    const err = await backup(call, params).catch((e: { code?: string; data?: Row; message?: string }) => e);
    expect(err).toMatchObject({ code });
    expect(String((err as { message?: string }).message)).toContain(text);
    const after = await call('DescribeBackupFiles', { MaxResults: 100 });
    expect(after.TotalCount).toBe(before.TotalCount);
  });

  it('lists BackupFile and its instance task by TaskType', async () => {
    const tasks = await call('DescribeTasks', { TaskType: 'BackupFile', Level: 2, MaxResults: 100 });
    expect((tasks.Data as Row[]).length).toBeGreaterThanOrEqual(4);
    expect((tasks.Data as Row[]).every((t) => t.TaskType === 'BackupFile')).toBe(true);
  });
});
