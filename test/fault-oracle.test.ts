import { closeSync, mkdirSync, openSync, readSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { BackupFile } from '../src/db/backup-files-repo.ts';
import { connectAdb } from '../src/devices/adb/connect.ts';
import { stopAll } from './helpers/cli-process.ts';
import { ENDPOINT, type FaultStack, startFaultStack } from './helpers/fault-stack.ts';
import { checkInvariants, type InvariantScope, objectPath } from './helpers/invariants.ts';
import { type Row, waitTask } from './helpers/wait.ts';

// The fault suite's oracle must be able to fail: after one good backup every invariant holds, and
// each kind of damage the crash tests look for, made by hand, is reported (then undone). The API
// runs without a worker here, so no reconciler repairs the damage before it is seen.

const APPS = ['com.example.notes', 'com.example.gallery'];

let s: FaultStack;
let scope: InvariantScope;
let file: BackupFile;

beforeAll(async () => {
  s = await startFaultStack({ backend: 'sqlite', phones: 1 });
  scope = { call: s.call, db: s.db, dataDir: s.dataDir, phones: [s.phones[0]?.address as string], apps: APPS };
  await s.serve();
  const res = await s.call('BackupApp', {
    AndroidInstanceIdList: [s.ids[0]],
    SourceAppList: APPS,
    BackupFilePath: 'oss://oracle/one/',
    UploadEndpoint: ENDPOINT,
  });
  expect((await waitTask(s.call, String(res.TaskId), 60_000)).TaskStatus).toBe('Finished');
  file = (await s.db.backupFiles.get('default', String((res.Data as Row[])[0]?.BackupFileId))) as BackupFile;
  await s.serve([], { worker: false });
}, 90_000);
afterAll(async () => {
  await s?.close();
  await stopAll();
});

/** `damage` must be reported exactly as `expected` (in order), and nothing once it is undone */
async function reports(expected: RegExp[], damage: () => Promise<() => Promise<void> | void>) {
  const undo = await damage();
  try {
    expect(await checkInvariants(scope)).toEqual(expected.map((e) => expect.stringMatching(e)));
  } finally {
    await undo();
  }
  expect(await checkInvariants(scope)).toEqual([]);
}

it('holds after a good backup and reports each kind of damage', async () => {
  expect(await checkInvariants(scope)).toEqual([]);
  const object = objectPath(s.dataDir, ENDPOINT, file.bucket, file.objectKey);
  const folder = dirname(object);

  await reports([/^instance acp-fault0 is BACKUPING$/], async () => {
    await s.db.instances.setStatus(s.ids[0] as string, 'BACKUPING');
    return async () => {
      await s.db.instances.setStatus(s.ids[0] as string, 'RUNNING');
    };
  });
  await reports([/^backup file bf-\S+ is RECOVERING$/], async () => {
    await s.db.backupFiles.update('default', file.id, { status: 'RECOVERING' });
    return async () => {
      await s.db.backupFiles.update('default', file.id, { status: 'AVAILABLE' });
    };
  });
  // a failed backup's record keeps no object: the object and its sidecar are both reported
  const failedObject = /^object of a BACKUP_FAILED backup file: /;
  await reports([failedObject, failedObject], async () => {
    await s.db.backupFiles.update('default', file.id, { status: 'BACKUP_FAILED' });
    return async () => {
      await s.db.backupFiles.update('default', file.id, { status: 'AVAILABLE' });
    };
  });
  // the object moved aside is then an object without a record, too
  await reports([/points at a missing object/, /^object without a backup file: .*\.away$/], async () => {
    renameSync(object, `${object}.away`);
    return () => renameSync(`${object}.away`, object);
  });
  // one byte changed: the record, the sidecar and the archive's own checks all disagree
  await reports([/: object [0-9a-f]{64}\/\d+, record /, /: sidecar /, /fails verification/], async () => {
    const byte = flipByte(object, 1000);
    return () => void flipByte(object, 1000, byte);
  });
  await reports([/^object without a backup file: /], async () => {
    writeFileSync(join(folder, 'stray.tar.zst'), 'not ours');
    return () => rmSync(join(folder, 'stray.tar.zst'));
  });
  await reports([/^temp file left: /], async () => {
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, '.cpb-tmp-0000'), 'half an upload');
    return () => rmSync(join(folder, '.cpb-tmp-0000'));
  });
  await reports([/^com\.example\.notes is left suspended on /], async () => {
    const device = await connectAdb(scope.phones[0] as string, { keyDir: join(s.dataDir, 'adb') });
    expect(await device.suspend('com.example.notes')).toBe(true);
    return async () => {
      await device.unsuspend('com.example.notes');
      await device.close();
    };
  });
}, 60_000);

/** xors one byte of a file (or writes `value` back); returns the byte it found */
function flipByte(path: string, at: number, value?: number): number {
  const fd = openSync(path, 'r+');
  try {
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, at);
    const found = b[0] as number;
    b[0] = value ?? found ^ 0xff;
    writeSync(fd, b, 0, 1, at);
    return found;
  } finally {
    closeSync(fd);
  }
}
