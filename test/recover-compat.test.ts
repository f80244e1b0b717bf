import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { client } from './helpers/clients.ts';
import { type Stack, startStack } from './helpers/stack.ts';
import { snapshot } from './helpers/tree.ts';
import { type Row, waitTask } from './helpers/wait.ts';

// Each way a target can be incompatible with a backup is refused with its own ErrorCode and a
// message naming both sides, before the target is touched.

const TARGETS: [string, string, RegExp][] = [
  ['another image', 'ImageIdMismatch', /img-a.*img-b/],
  ['another image version', 'ImageVersionMismatch', /1\.0.*2\.0/],
  ['a public image', 'ImageTypeMismatch', /custom.*public/],
  ['another instance family', 'InstanceFamilyMismatch', /cpm\.gx7.*cpm\.gx8/],
  ['another ABI', 'AbiMismatch', /arm64-v8a/],
  ['an older Android', 'AndroidVersionDowngrade', /SDK 34 \(Android 14\).*SDK 30 \(Android 11\)/],
];

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    phones: TARGETS.length + 1,
    image: (i) => ({
      imageId: i === 1 ? 'img-b' : 'img-a',
      imageVersion: i === 2 ? '2.0' : '1.0',
      imageType: i === 3 ? 'public' : 'custom',
      instanceType: i === 4 ? 'cpm.gx8.16xlarge' : 'cpm.gx7.10xlarge',
    }),
    buildProps: (i): Record<string, string> =>
      i === 5 ? { 'ro.product.cpu.abi': 'arm64-v8a', 'ro.product.cpu.abilist': 'arm64-v8a' } : {},
    android: (i) => (i === 6 ? 11 : 14),
  });
}, 180_000);
afterAll(() => stack?.close());

it('refuses every incompatible target with its own code and leaves each one untouched', async () => {
  const call = client('pop-core POST', stack.url, stack.key);
  const backup = await call('BackupApp', {
    AndroidInstanceIdList: [stack.ids[0]],
    SourceAppList: ['com.example.notes'],
    BackupFilePath: 'oss://compat/x/',
    UploadEndpoint: 'oss-cn-hangzhou.aliyuncs.com',
  });
  expect((await waitTask(call, String(backup.TaskId))).TaskStatus).toBe('Finished');
  const targets = stack.ids.slice(1);
  const before = stack.phones.slice(1).map((p) => snapshot(join(p.phone.root, 'data')));
  const res = await call('RecoverApp', {
    BackupFileId: (backup.Data as Row[])[0]?.BackupFileId,
    AndroidInstanceIdList: targets,
    UploadType: 'OSS',
  });
  const batch = await waitTask(call, String(res.TaskId), 120_000);
  expect(batch).toMatchObject({ TaskStatus: 'Failed', FailedChildCount: TARGETS.length });
  const children = (await call('DescribeTasks', { ParentTaskId: res.TaskId, MaxResults: 100 })).Data as Row[];
  for (const [i, [name, code, both]] of TARGETS.entries()) {
    const child = children.find((c) => c.InstanceId === targets[i]);
    expect(child, name).toMatchObject({ TaskStatus: 'Failed', ErrorCode: code });
    expect(String(child?.ErrorMsg), name).toMatch(both);
    expect(String(child?.ErrorMsg), name).toContain(String(stack.ids[0]));
    expect(String(child?.ErrorMsg), name).toContain(String(targets[i]));
    expect(snapshot(join(stack.phones[i + 1]?.phone.root as string, 'data')), name).toEqual(before[i]);
  }
}, 180_000);
