import { readdirSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type AppTrees, appTrees, changeAppData, stagingLeftovers } from './helpers/app-trees.ts';
import { type CliProcess, EMULATOR_READY, startCli, stopAll } from './helpers/cli-process.ts';
import { ENDPOINT, type FaultStack, LEASE_MS, STALL_MS, startFaultStack } from './helpers/fault-stack.ts';
import { type InvariantScope, settleInvariants, uploadsInProgress } from './helpers/invariants.ts';
import { type Row, waitFor, waitTask } from './helpers/wait.ts';

// The phone dies mid-stream: the emulator runs as a child process (`cloudphone-backup emulator`)
// and is SIGKILLed while a backup reads it and while a restore stages onto it. The task fails with
// InstanceUnreachable once its retries are spent, the app's folders are as they were, and once the
// phone is started again on the same folder and port, the invariants hold (the app the backup had
// suspended is resumed) and a new backup, and a new restore, work.

const APPS = ['com.example.notes', 'com.example.gallery'];
const FAIL_BOUND_MS = 30_000;
const INVARIANT_BOUND_MS = 2 * STALL_MS + 3 * LEASE_MS + 5_000;

let s: FaultStack;
let phone: CliProcess;
let root: string;
let port: number;
let scope: InvariantScope;
let source: AppTrees;
let sourceFile: string;

async function startPhone() {
  phone = await startCli(['emulator', '--root', root, '--port', String(port), '--seed-apps'], {
    ready: EMULATOR_READY,
  });
  return phone.ready[1] as string;
}

async function killPhone(when: () => boolean) {
  await waitFor(async () => when(), 30_000);
  expect(await phone.kill('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
}

beforeAll(async () => {
  s = await startFaultStack({ backend: 'sqlite', phones: 0 });
  root = join(s.dir, 'phone');
  port = await freePort();
  await s.addInstance('acp-phone', await startPhone());
  await s.serve();
  scope = { call: s.call, db: s.db, dataDir: s.dataDir, phones: [phone.ready[1] as string], apps: APPS };
  source = appTrees(root, APPS);
  const row = await backup();
  expect(row.TaskStatus).toBe('Finished');
  sourceFile = JSON.parse(String(row.Param)).backupFileId;
}, 90_000);
afterAll(async () => {
  await s?.close();
  await stopAll();
});

async function backup(start?: () => Promise<void>): Promise<Row> {
  const res = await s.call('BackupApp', {
    AndroidInstanceIdList: [s.ids[0]],
    SourceAppList: APPS,
    BackupFilePath: 'oss://phone-kill/out/',
    UploadEndpoint: ENDPOINT,
  });
  await start?.();
  return waitTask(s.call, String((res.Data as Row[])[0]?.TaskId), FAIL_BOUND_MS);
}

async function restore(start?: () => Promise<void>): Promise<Row> {
  const res = await s.call('RecoverApp', {
    BackupFileId: sourceFile,
    AndroidInstanceIdList: [s.ids[0]],
    UploadType: 'OSS',
  });
  await start?.();
  return waitTask(s.call, String((res.Data as Row[])[0]?.TaskId), FAIL_BOUND_MS);
}

async function instanceError(): Promise<unknown> {
  const body = await s.call('DescribeAndroidInstances', { AndroidInstanceIds: [s.ids[0]] });
  return (body.InstanceModel as Row[])[0]?.ErrorCode;
}

it('killed mid-backup: InstanceUnreachable, the app unchanged, and a new backup once it is back', async () => {
  const uploading = () => uploadsInProgress(s.dataDir).some((size) => size >= 512 * 1024);
  const row = await backup(() => killPhone(uploading));
  expect(row).toMatchObject({ TaskStatus: 'Failed', ErrorCode: 'InstanceUnreachable' });
  expect(await instanceError()).toBe('InstanceUnreachable');
  expect(appTrees(root, APPS)).toEqual(source);

  await startPhone();
  expect(await settleInvariants(scope, INVARIANT_BOUND_MS)).toEqual([]);
  expect(await backup()).toMatchObject({ TaskStatus: 'Finished' });
  expect(await settleInvariants(scope, INVARIANT_BOUND_MS)).toEqual([]);
}, 90_000);

it('killed mid-restore: InstanceUnreachable, the target unchanged, and a restore once it is back', async () => {
  changeAppData(root, APPS[0] as string, 'phone-kill');
  const before = appTrees(root, APPS);
  expect(before).not.toEqual(source);
  // the first app's CE part is being extracted into its staging folder on the phone
  const staging = () =>
    readdirSync(join(root, 'data/user/0')).some((n) => /^\.cpb-.*-new-com\.example\.notes$/.test(n));
  const row = await restore(() => killPhone(staging));
  expect(row).toMatchObject({ TaskStatus: 'Failed', ErrorCode: 'InstanceUnreachable' });
  expect(await instanceError()).toBe('InstanceUnreachable');
  expect(appTrees(root, APPS)).toEqual(before);

  await startPhone();
  expect(await settleInvariants(scope, INVARIANT_BOUND_MS)).toEqual([]);
  expect(await restore()).toMatchObject({ TaskStatus: 'Finished' });
  expect(appTrees(root, APPS)).toEqual(source);
  expect(stagingLeftovers(root)).toEqual([]); // what the killed restore staged was undone
  expect(await settleInvariants(scope, INVARIANT_BOUND_MS)).toEqual([]);
}, 90_000);

/** a port nothing listens on now, for a phone that must come back on the same one */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
