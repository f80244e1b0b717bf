import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Call, client } from './helpers/clients.ts';
import { type Stack, startStack } from './helpers/stack.ts';
import { type Row, waitFor, waitTask } from './helpers/wait.ts';

// Graceful shutdown: a stopping service claims nothing more and lets running tasks finish within
// the grace period; without one, running tasks are handed back to the queue and run again by the
// next service, from the start, to the same result.

let stack: Stack;
let call: Call;

beforeAll(async () => {
  stack = await startStack({ phones: 1 });
  call = client('openapi-core V3', stack.url, stack.key);
  // enough data that the backup is still running when the service is told to stop
  const ce = stack.phones[0]?.phone.hostOf('/data/user/0/com.example.notes/files') as string;
  writeFileSync(`${ce}/bulk.bin`, Buffer.alloc(96 * 1024 * 1024, 1));
}, 120_000);
afterAll(() => stack?.close());

async function startBackup() {
  call = client('openapi-core V3', stack.url, stack.key); // a restarted service has a new port
  const res = await call('BackupApp', {
    AndroidInstanceIdList: [stack.ids[0]],
    SourceAppList: ['com.example.notes'],
    BackupFilePath: 'oss://shutdown/x/',
    UploadEndpoint: 'oss-cn-hangzhou.aliyuncs.com',
  });
  const child = String((res.Data as Row[])[0]?.TaskId);
  await waitFor(async () => (await stack.service.db.tasks.get('default', child))?.status === 'Processing');
  return { batch: String(res.TaskId), child };
}

describe('stopping the service', () => {
  it('lets a running backup finish within the grace period', async () => {
    const { child } = await startBackup();
    await stack.restartService({ graceMs: 60_000 });
    // finished by the service that was stopping, not run again by the new one
    expect(await stack.service.db.tasks.get('default', child)).toMatchObject({ status: 'Finished', attempts: 1 });
  }, 120_000);

  it('without a grace period hands the running backup back, and the next service completes it', async () => {
    const { batch, child } = await startBackup();
    await stack.restartService({ graceMs: 0 });
    call = client('openapi-core V3', stack.url, stack.key);
    expect((await waitTask(call, batch, 120_000)).TaskStatus).toBe('Finished');
    expect(await stack.service.db.tasks.get('default', child)).toMatchObject({ status: 'Finished', attempts: 2 });
    const [instance] = (await call('DescribeAndroidInstances', { AndroidInstanceIds: [stack.ids[0]] }))
      .InstanceModel as Row[];
    expect(instance?.AndroidInstanceStatus).toBe('RUNNING');
  }, 120_000);
});
