import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client } from './helpers/clients.ts';
import { type Stack, startStack } from './helpers/stack.ts';
import { type Row, waitFor, waitTask } from './helpers/wait.ts';

// Bad input and failures during BackupApp: each gives the documented error, and none leaves
// an AVAILABLE backup file or an object behind.

const ENDPOINT = 'oss-cn-hangzhou.aliyuncs.com';
const APP = 'com.example.notes';

/** every file under the fs store, temp files included */
function storedFiles(stack: Stack): string[] {
  const root = join(stack.dataDir, 'objects');
  try {
    return readdirSync(root, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name));
  } catch {
    return [];
  }
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  const err = (await p.then(
    () => null,
    (e: unknown) => e,
  )) as { code?: string } | null;
  if (!err) throw new Error('the call succeeded');
  return String(err.code);
}

describe('BackupApp refuses bad input before starting anything', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      phones: 1,
      seedApps: false,
      configFile: { storage: { default: null, endpoints: { [ENDPOINT]: { driver: 'fs' } } } },
    });
  }, 60_000);
  afterAll(() => stack?.close());
  // pop-core would send an undefined value as the string "undefined": leave such keys out
  const backup = (over: Record<string, unknown>) => {
    const params = {
      AndroidInstanceIdList: stack.ids,
      SourceAppList: [APP],
      BackupFilePath: 'oss://bucket/dir/',
      UploadEndpoint: ENDPOINT,
      ...over,
    };
    const defined = Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined));
    return client('pop-core POST', stack.url, stack.key)('BackupApp', defined);
  };

  it.each([
    ['a missing SourceAppList', { SourceAppList: undefined }, 'MissingParameter'],
    ['a missing UploadEndpoint', { UploadEndpoint: undefined }, 'MissingParameter'],
    ['shell metacharacters in a package name', { SourceAppList: ['com.x;rm -rf /'] }, 'InvalidParameter'],
    ['a command substitution as a package name', { SourceAppList: ['$(reboot)'] }, 'InvalidParameter'],
    ['a package name without a dot', { SourceAppList: ['notes'] }, 'InvalidParameter'],
    ['.. in the backup path', { BackupFilePath: 'oss://bucket/../etc/' }, 'InvalidParameter'],
    ['a backup path that is not oss://', { BackupFilePath: 'file:///etc/' }, 'InvalidParameter'],
    ['a backup file name with a slash', { BackupFileName: '../x' }, 'InvalidParameter'],
    [
      '10,000 instances',
      { AndroidInstanceIdList: Array.from({ length: 10_000 }, (_, i) => `acp-${i}`) },
      'InvalidParameter',
    ],
    ['an unknown instance', { AndroidInstanceIdList: ['acp-nope'] }, 'InvalidAndroidInstanceId.NotFound'],
    [
      'an endpoint no store is configured for',
      { UploadEndpoint: 'oss-us-west-1.aliyuncs.com' },
      'InvalidUploadEndpoint.NotFound',
    ],
  ])('%s', async (_name, over, code) => {
    expect(await codeOf(backup(over))).toBe(code);
    expect(storedFiles(stack)).toEqual([]);
  });

  it("refuses another account's instance as if it did not exist", async () => {
    await stack.service.db.instances.add({
      id: 'acp-other',
      account: 'other',
      name: 'theirs',
      adbAddress: stack.phones[0]?.address as string,
      imageId: 'i',
      imageVersion: '1',
      imageType: 'custom',
      instanceType: 'cpm.gx7.10xlarge',
      androidVersion: '13',
      sdk: 33,
      abi: 'x86_64',
      fingerprint: 'f',
    });
    expect(await codeOf(backup({ AndroidInstanceIdList: ['acp-other'] }))).toBe('InvalidAndroidInstanceId.NotFound');
    const other = await stack.service.db.accounts.createKey('other');
    const files = await client('openapi-core V3', stack.url, other)('DescribeBackupFiles', {});
    expect(files.TotalCount).toBe(0);
  });

  it.each(['pop-core POST', 'openapi-core V3'] as const)(
    'refuses a request made under an STS token (%s) with Forbidden',
    async (kind) => {
      const call = client(kind, stack.url, { ...stack.key, securityToken: 'sts-token' });
      expect(await codeOf(call('DescribeBackupFiles', {}))).toBe('Forbidden');
    },
  );

  it('rejects wrong types with InvalidParameter through openapi-core too', async () => {
    const call = client('openapi-core V3', stack.url, stack.key);
    expect(await codeOf(call('DescribeBackupFiles', { MaxResults: 'many' }))).toBe('InvalidParameter');
    expect(await codeOf(call('DescribeTasks', { Level: 7 }))).toBe('InvalidParameter');
    expect(
      await codeOf(
        call('RecoverApp', { BackupFileId: 'bf-none', AndroidInstanceIdList: stack.ids, UploadType: 'OSS' }),
      ),
    ).toBe('InvalidBackupFileId.NotFound');
    expect(await codeOf(call('DeleteBackupFile', { BackupFileIdList: ['bf-none'] }))).toBe(
      'InvalidBackupFileId.NotFound',
    );
  });
});

describe('BackupApp tasks that fail leave nothing that looks complete', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ phones: 2 });
  }, 60_000);
  afterAll(() => stack?.close());

  async function failedBackup(over: Record<string, unknown>, instance = stack.ids[0]) {
    const call = client('pop-core GET', stack.url, stack.key);
    const res = await call('BackupApp', {
      AndroidInstanceIdList: [instance],
      SourceAppList: [APP],
      BackupFilePath: 'oss://failing/dir/',
      UploadEndpoint: ENDPOINT,
      ...over,
    });
    const batch = await waitTask(call, String(res.TaskId));
    const [child] = (await call('DescribeTasks', { ParentTaskId: res.TaskId })).Data as Row[];
    const fileId = (res.Data as Row[])[0]?.BackupFileId;
    const [file] = (await call('DescribeBackupFiles', { BackupFileId: fileId })).Data as Row[];
    return { batch, child: child as Row, file: file as Row, call };
  }

  it('an app that is not installed fails that instance task with AppNotInstalled', async () => {
    const { batch, child, file } = await failedBackup({ SourceAppList: [APP, 'com.example.missing'] });
    expect(batch.TaskStatus).toBe('Failed');
    expect(child).toMatchObject({ TaskStatus: 'Failed', ErrorCode: 'AppNotInstalled' });
    expect(String(child.ErrorMsg)).toContain('com.example.missing');
    expect(file.Status).toBe('BACKUP_FAILED');
    expect(storedFiles(stack)).toEqual([]);
  });

  it('an unwritable store fails the task with StorageOperationFailed', async () => {
    const bucketDir = join(stack.dataDir, 'objects', ENDPOINT);
    mkdirSync(bucketDir, { recursive: true });
    writeFileSync(join(bucketDir, 'blocked'), 'a file where the bucket folder should be');
    const { child, file } = await failedBackup({ BackupFilePath: 'oss://blocked/dir/' });
    expect(child).toMatchObject({ TaskStatus: 'Failed', ErrorCode: 'StorageOperationFailed' });
    expect(file.Status).toBe('BACKUP_FAILED');
    expect(storedFiles(stack)).toEqual([join(bucketDir, 'blocked')]);
  });

  it('a full store fails the task and leaves no partial object', async () => {
    const bucketDir = join(stack.dataDir, 'objects', ENDPOINT, 'full');
    mkdirSync(bucketDir, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', bucketDir]);
    try {
      const { child, file } = await failedBackup({ BackupFilePath: 'oss://full/dir/' });
      expect(child).toMatchObject({ TaskStatus: 'Failed', ErrorCode: 'StorageQuotaExceeded' });
      expect(String(child.ErrorMsg)).toMatch(/space|ENOSPC/i);
      expect(file.Status).toBe('BACKUP_FAILED');
      expect(readdirSync(bucketDir, { recursive: true })).toEqual(['dir']);
    } finally {
      execFileSync('umount', [bucketDir]);
    }
  });

  it('a phone that vanishes mid-backup fails its task with a clear error, instance BACKUP_FAILED', async () => {
    const phone = stack.phones[1];
    if (!phone) throw new Error('no phone');
    const big = join(phone.phone.root, 'data/user/0', APP, 'files', 'huge.bin');
    execFileSync('sh', ['-c', `head -c ${300 * 1024 * 1024} /dev/urandom > '${big}'`]);
    const call = client('pop-core GET', stack.url, stack.key);
    const res = await call('BackupApp', {
      AndroidInstanceIdList: [stack.ids[1]],
      SourceAppList: [APP],
      BackupFilePath: 'oss://vanish/dir/',
      UploadEndpoint: ENDPOINT,
    });
    const taskId = (res.Data as Row[])[0]?.TaskId;
    await waitFor(async () => {
      const [t] = (await call('DescribeTasks', { TaskIds: [taskId] })).Data as Row[];
      return Number(t?.BytesDone) > 20 * 1024 * 1024;
    });
    await phone.close();
    const child = await waitTask(call, String(taskId));
    expect(child).toMatchObject({ TaskStatus: 'Failed', ErrorCode: 'InstanceUnreachable' });
    expect(String(child.ErrorMsg)).toContain(`${stack.ids[1]} (${phone.address})`);
    const [file] = (await call('DescribeBackupFiles', { AndroidInstanceId: stack.ids[1] })).Data as Row[];
    expect(file?.Status).toBe('BACKUP_FAILED');
    const [model] = (await call('DescribeAndroidInstances', { AndroidInstanceIds: [stack.ids[1]] }))
      .InstanceModel as Row[];
    expect(model).toMatchObject({ AndroidInstanceStatus: 'BACKUP_FAILED', ErrorCode: 'InstanceUnreachable' });
    expect(storedFiles(stack).filter((f) => f.includes('vanish'))).toEqual([]);
  }, 120_000);
});

describe('a service restart mid-backup', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ phones: 1 });
  }, 60_000);
  afterAll(() => stack?.close());

  it('runs the interrupted task again from the start and completes it, leaving one archive', async () => {
    const big = join(stack.phones[0]?.phone.root as string, 'data/user/0', APP, 'files', 'huge.bin');
    execFileSync('sh', ['-c', `head -c ${200 * 1024 * 1024} /dev/urandom > '${big}'`]);
    const first = client('pop-core GET', stack.url, stack.key);
    const res = await first('BackupApp', {
      AndroidInstanceIdList: stack.ids,
      SourceAppList: [APP],
      BackupFilePath: 'oss://restart/dir/',
      UploadEndpoint: ENDPOINT,
    });
    const taskId = (res.Data as Row[])[0]?.TaskId;
    await waitFor(async () => {
      const [t] = (await first('DescribeTasks', { TaskIds: [taskId] })).Data as Row[];
      return Number(t?.BytesDone) > 10 * 1024 * 1024;
    });
    await stack.restartService();
    const after = client('pop-core GET', stack.url, stack.key);
    const child = await waitTask(after, String(taskId), 120_000);
    expect(child.TaskStatus).toBe('Finished');
    const [file] = (await after('DescribeBackupFiles', {})).Data as Row[];
    expect(file?.Status).toBe('AVAILABLE');
    const stored = storedFiles(stack).map((f) => f.split('/').pop());
    expect(stored.sort()).toEqual([String(file?.BackupFileName), `${file?.BackupFileName}.json`].sort());
  }, 180_000);
});
