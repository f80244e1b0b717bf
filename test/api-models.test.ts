import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shell } from '../src/emulator/android/testing.ts';
import { type Emulator, startEmulator } from '../src/emulator/emulator.ts';
import { cliBundle } from './helpers/cli-process.ts';
import { type Call, client } from './helpers/clients.ts';
import { type Stack, startStack } from './helpers/stack.ts';
import { type Row, waitTask } from './helpers/wait.ts';

// The response fields of Alibaba's models that we fill (docs/api-models.md, "What we fill"),
// through the real clients: instance groups and end users set by `instances add` and filtered as
// Alibaba filters them, never across accounts; what the phone itself reports (read when added,
// refreshed at each task's start); RegionId from config; Operator on tasks.

const run = promisify(execFile);
const ENDPOINT = 'oss-cn-hangzhou.aliyuncs.com';
// the emulated phones run on this host: their /proc and their network are the host's
const HOST_CPUS = String(readFileSync('/proc/cpuinfo', 'utf8').match(/^processor\s*:/gm)?.length);
const HOST_MIB = Math.floor(Number(/^MemTotal:\s+(\d+) kB$/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1]) / 1024);
const HOST_IPS = Object.values(networkInterfaces())
  .flat()
  .filter((a) => a?.family === 'IPv4' && !a.internal && !a.address.startsWith('169.254.'))
  .map((a) => a?.address);

let stack: Stack;
let big: Emulator;
let v3: Call;
let pop: Call;
let other: Call;
const cli = async (...args: string[]) =>
  run(process.execPath, [await cliBundle(), ...args, '--data-dir', stack.dataDir]);
const ids = (body: Record<string, unknown>, list = 'InstanceModel') =>
  (body[list] as Row[]).map((r) => r.AndroidInstanceId).sort();

beforeAll(async () => {
  stack = await startStack({ phones: 1, configFile: { regionId: 'ap-southeast-1' } });
  big = await startEmulator({
    root: join(stack.dir, 'big'),
    port: 0,
    android: 12,
    display: { width: 1080, height: 1920, dpi: 480 },
  });
  v3 = client('openapi-core V3', stack.url, stack.key);
  pop = client('pop-core GET', stack.url, stack.key);
  other = client('pop-core POST', stack.url, await stack.service.db.accounts.createKey('other'));
  const phone0 = stack.phones[0]?.address as string;
  await cli('instances', 'add', '--id', 'acp-g1', '--adb', phone0, '--group', 'ag-alpha1', '--end-user', 'alice_01');
  await cli('instances', 'add', '--id', 'acp-g2', '--adb', big.address, '--group', 'ag-beta2', '--end-user', 'bob_02');
  const otherArgs = ['--group', 'ag-alpha1', '--end-user', 'alice_01', '--account', 'other'];
  await cli('instances', 'add', '--id', 'acp-x1', '--adb', big.address, ...otherArgs);
}, 120_000);
afterAll(async () => {
  await big?.close();
  await stack?.close();
});

describe('instances add --group --end-user', () => {
  it('validates them as Alibaba ids, and instances list shows them', async () => {
    await expect(
      cli('instances', 'add', '--id', 'acp-bad', '--adb', big.address, '--group', 'AG-1'),
    ).rejects.toMatchObject({ stderr: expect.stringContaining('--group "AG-1" is not an instance group id') });
    await expect(
      cli('instances', 'add', '--id', 'acp-bad', '--adb', big.address, '--end-user', 'x;y'),
    ).rejects.toMatchObject({ stderr: expect.stringContaining('--end-user "x;y" is not an end user id') });
    const { stdout } = await cli('instances', 'list');
    expect(stdout).toMatch(/^acp-g1\tRUNNING\t\S+\tAndroid 14\t\S+\tag-alpha1\talice_01\tacp-g1$/m);
    expect(stdout).toMatch(/^acp-g2\tRUNNING\t\S+\tAndroid 12\t\S+\tag-beta2\tbob_02\tacp-g2$/m);
    expect(stdout).not.toContain('acp-x1');
  });
});

describe('DescribeAndroidInstances', () => {
  it('filters InstanceGroupId and InstanceGroupIds (both must match), only in the caller account', async () => {
    expect(ids(await v3('DescribeAndroidInstances', { InstanceGroupId: 'ag-alpha1' }))).toEqual(['acp-g1']);
    expect(ids(await pop('DescribeAndroidInstances', { InstanceGroupIds: ['ag-alpha1', 'ag-beta2'] }))).toEqual([
      'acp-g1',
      'acp-g2',
    ]);
    const both = await v3('DescribeAndroidInstances', { InstanceGroupId: 'ag-alpha1', InstanceGroupIds: ['ag-beta2'] });
    expect(both).toMatchObject({ TotalCount: 0, InstanceModel: [] });
    expect(ids(await other('DescribeAndroidInstances', { InstanceGroupId: 'ag-alpha1' }))).toEqual(['acp-x1']);
    expect(ids(await other('DescribeAndroidInstances', {}))).toEqual(['acp-x1']);
    await expect(v3('DescribeAndroidInstances', { InstanceGroupId: 'ag-ALPHA' })).rejects.toMatchObject({
      code: 'InvalidParameter',
      statusCode: 400,
      message: expect.stringContaining('"InstanceGroupId"'),
    });
    await expect(pop('DescribeAndroidInstances', { InstanceGroupIds: ['ag-1', "ag-'1"] })).rejects.toMatchObject({
      code: 'InvalidParameter',
    });
  });

  it('returns what the phone reported when it was added, the group and the configured RegionId', async () => {
    const [g2] = (await v3('DescribeAndroidInstances', { AndroidInstanceIds: ['acp-g2'] })).InstanceModel as Row[];
    expect(g2).toMatchObject({
      AndroidInstanceId: 'acp-g2',
      AndroidInstanceGroupId: 'ag-beta2',
      RegionId: 'ap-southeast-1',
      SystemVersion: 'Android 12',
      Cpu: HOST_CPUS,
      Memory: HOST_MIB,
      DisplayConfig: { ResolutionWidth: 1080, ResolutionHeight: 1920, Dpi: 480 },
      Abi: big.phone.props['ro.product.cpu.abi'],
    });
    expect([...HOST_IPS, '']).toContain(g2?.NetworkInterfaceIp);
  });

  it("refreshes the phone's facts at each task's start: a display override shows after the next backup", async () => {
    const before = (await pop('DescribeAndroidInstances', { AndroidInstanceIds: ['acp-g1'] })).InstanceModel as Row[];
    expect(before[0]?.DisplayConfig).toEqual({ ResolutionWidth: 720, ResolutionHeight: 1280, Dpi: 320 });
    await shell(stack.phones[0]?.phone as Emulator['phone'], 'wm size 800x1280 && wm density 280');
    const res = await v3('BackupApp', {
      AndroidInstanceIdList: ['acp-g1'],
      SourceAppList: ['com.example.notes'],
      BackupFilePath: 'oss://models/daily/',
      UploadEndpoint: ENDPOINT,
    });
    expect(await waitTask(v3, String(res.TaskId), 60_000)).toMatchObject({ TaskStatus: 'Finished' });
    const after = (await pop('DescribeAndroidInstances', { AndroidInstanceIds: ['acp-g1'] })).InstanceModel as Row[];
    expect(after[0]).toMatchObject({
      DisplayConfig: { ResolutionWidth: 800, ResolutionHeight: 1280, Dpi: 280 },
      Cpu: HOST_CPUS,
      Memory: HOST_MIB,
    });
    await shell(stack.phones[0]?.phone as Emulator['phone'], 'wm size reset && wm density reset');

    // the task and its batch carry the region and who started them
    const tasks = (await pop('DescribeTasks', { InvokeId: String(res.RequestId) })).Data as Row[];
    expect(tasks).toHaveLength(2);
    for (const t of tasks) expect(t).toMatchObject({ RegionId: 'ap-southeast-1', Operator: 'default' });

    // the backup file keeps the source's group and end user, and is filtered by them
    const fileId = String((res.Data as Row[])[0]?.BackupFileId);
    const byGroup = await v3('DescribeBackupFiles', { InstanceGroupId: 'ag-alpha1' });
    expect(byGroup).toMatchObject({ TotalCount: 1 });
    expect((byGroup.Data as Row[])[0]).toMatchObject({
      BackupFileId: fileId,
      InstanceGroupId: 'ag-alpha1',
      EndUserId: 'alice_01',
      RegionId: 'ap-southeast-1',
      SystemVersion: 'Android 14',
      Status: 'AVAILABLE',
    });
    expect(ids(await pop('DescribeBackupFiles', { EndUserId: 'alice_01' }), 'Data')).toEqual(['acp-g1']);
    expect(await pop('DescribeBackupFiles', { EndUserId: 'bob_02' })).toMatchObject({ TotalCount: 0 });
    const mismatched = await v3('DescribeBackupFiles', { InstanceGroupId: 'ag-alpha1', EndUserId: 'bob_02' });
    expect(mismatched).toMatchObject({ TotalCount: 0 });
    // another account's files stay invisible, whatever the filter
    expect(await other('DescribeBackupFiles', { InstanceGroupId: 'ag-alpha1' })).toMatchObject({ TotalCount: 0 });
    expect(await other('DescribeBackupFiles', { EndUserId: 'alice_01' })).toMatchObject({ TotalCount: 0 });
    await expect(v3('DescribeBackupFiles', { EndUserId: 'Alice' })).rejects.toMatchObject({
      code: 'InvalidParameter',
      message: expect.stringContaining('"EndUserId"'),
    });
    await expect(pop('DescribeBackupFiles', { InstanceGroupId: 'group-1' })).rejects.toMatchObject({
      code: 'InvalidParameter',
    });
  }, 90_000);

  it('an instance whose phone never reported (registered before 0004_instance_facts) leaves them out, not zero', async () => {
    await stack.service.db.instances.add({
      id: 'acp-old',
      account: 'default',
      name: 'old',
      adbAddress: '127.0.0.1:9',
      imageId: 'img-test',
      imageVersion: '1.0',
      imageType: 'custom',
      instanceType: 'cpm.gx7.10xlarge',
      androidVersion: '13',
      sdk: 33,
      abi: 'x86_64',
      fingerprint: 'cloudphone/x:13/T/1:userdebug/test-keys',
    });
    const [old] = (await v3('DescribeAndroidInstances', { AndroidInstanceIds: ['acp-old'] })).InstanceModel as Row[];
    expect(old).toMatchObject({
      AndroidInstanceGroupId: '',
      NetworkInterfaceIp: '',
      RegionId: 'ap-southeast-1',
      SystemVersion: 'Android 13',
    });
    for (const key of ['Cpu', 'Memory', 'DisplayConfig']) expect(old).not.toHaveProperty(key);
  });
});
