import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, lstatSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readArchive } from '../src/backup/archive/archive-reader.ts';
import { verifyArchive } from '../src/backup/restore/verify-archive.ts';
import { readSidecar } from '../src/backup/sidecar.ts';
import type { Task } from '../src/db/tasks-repo.ts';
import { FsObjectStore } from '../src/storage/fs-object-store.ts';
import { type Call, client } from './helpers/clients.ts';
import { type Stack, startStack } from './helpers/stack.ts';
import { type Node, snapshot } from './helpers/tree.ts';
import { type Row, waitFor, waitTask } from './helpers/wait.ts';

// Concurrent calls end to end, on three emulated phones and a runner that runs two tasks at once
// (worker.concurrency 2, so a third task waits for a slot). BackupApp and RecoverApp never refuse
// a busy instance: each call's tasks queue behind the phone's others (at most 10 unsettled,
// task-cap.ts), and the runner keeps one Processing task per phone (task-store.ts claim, and a
// partial unique index). So calls in flight together for one phone are all accepted and run one
// after the other; a backup file stays in use (RECOVERING) while a restore from it runs; and in a
// restore onto several phones each target succeeds or fails on its own.

const NOTES = 'com.example.notes';
const GALLERY = 'com.example.gallery';
const ENDPOINT = 'oss-cn-hangzhou.aliyuncs.com';
const CONCURRENCY = 2;
const PARTS: Record<string, string> = {
  ce: '/data/user/0',
  de: '/data/user_de/0',
  external: '/data/media/0/Android/data',
  obb: '/data/media/0/Android/obb',
  media: '/data/media/0/Android/media',
};
const MiB = 2 ** 20;

let stack: Stack;
let call: Call;

beforeAll(async () => {
  stack = await startStack({
    phones: 3,
    // a backoff of a second or two makes a target whose phone is gone settle after the others
    configFile: { worker: { concurrency: CONCURRENCY, retryBaseMs: 1000, retryMaxMs: 2000 } },
  });
  call = client('openapi-core V3', stack.url, stack.key);
  // incompressible data, so a backup or restore of notes lasts long enough to act on it meanwhile
  for (const i of [0, 1, 2]) {
    const files = host(i, `/data/user/0/${NOTES}/files`);
    const { uid, gid } = lstatSync(files);
    writeFileSync(join(files, 'bulk.bin'), randomBytes(2 * MiB));
    chownSync(join(files, 'bulk.bin'), uid, gid);
  }
}, 120_000);
afterAll(() => stack?.close());

const host = (phone: number, path: string) => stack.phones[phone]?.phone.hostOf(path) as string;
const db = () => stack.service.db;
const task = async (id: string) => (await db().tasks.get('default', id)) as Task;
const codeOf = (r: PromiseSettledResult<unknown>) =>
  r.status === 'rejected' ? (r.reason as { code?: string; statusCode?: number }) : null;

function backupApp(phones: number[], apps = [NOTES]) {
  return call('BackupApp', {
    AndroidInstanceIdList: phones.map((i) => stack.ids[i]),
    SourceAppList: apps,
    BackupFilePath: 'oss://concurrency/runs/',
    UploadEndpoint: ENDPOINT,
  });
}

function recoverApp(fileId: string, phones: number[]) {
  return call('RecoverApp', {
    BackupFileId: fileId,
    AndroidInstanceIdList: phones.map((i) => stack.ids[i]),
    UploadType: 'OSS',
  });
}

const children = (res: Record<string, unknown>) => res.Data as Row[];
const childIds = (res: Record<string, unknown>) => children(res).map((c) => String(c.TaskId));

async function fileStatus(id: string) {
  const [file] = (await call('DescribeBackupFiles', { BackupFileId: id })).Data as Row[];
  return file?.Status;
}

async function instance(phone: number) {
  const [model] = (await call('DescribeAndroidInstances', { AndroidInstanceIds: [stack.ids[phone]] }))
    .InstanceModel as Row[];
  return model;
}

/** the folders of the app the backups hold, as comparable listings (the installer's lib link left out) */
function trees(phone: number) {
  const out = new Map<string, Map<string, Node>>();
  for (const pkg of [NOTES]) {
    for (const [part, base] of Object.entries(PARTS)) {
      const dir = host(phone, `${base}/${pkg}`);
      const skip = part === 'ce' ? (rel: string) => rel === 'lib' : undefined;
      if (existsSync(dir)) out.set(`${pkg}/${part}`, snapshot(dir, { skip }));
    }
  }
  expect(out.size).toBeGreaterThan(3);
  return out;
}

/** A stored backup is complete: AVAILABLE (or `status`), its sidecar matches the record, and the archive verifies. */
async function expectVerifies(fileId: string, status = 'AVAILABLE') {
  const file = await db().backupFiles.get('default', fileId);
  expect(file?.status).toBe(status);
  if (!file) return;
  const store = new FsObjectStore(join(stack.dataDir, 'objects', ENDPOINT));
  const sidecar = await readSidecar(store, file.bucket, file.objectKey);
  expect({ sha256: sidecar.sha256, size: sidecar.size }).toEqual({ sha256: file.sha256, size: file.size });
  const target = { sdk: 34, androidVersion: '14' };
  const object = { bucket: file.bucket, key: file.objectKey };
  await verifyArchive(store, object, sidecar, target, () => {}, new AbortController().signal);
  return sidecar;
}

/** the watches of a test that failed before stopping them: stopped after it, before the stack closes */
const watching = new Map<() => void, Promise<void>>();
afterEach(async () => {
  for (const [halt, loop] of watching) {
    halt();
    await loop.catch(() => {});
  }
  watching.clear();
});

/**
 * Polls DescribeTasks for Processing instance tasks until stopped: a phone must never have two,
 * nor the runner more than its concurrency.
 */
function watchProcessing() {
  let stopped = false;
  const halt = () => {
    stopped = true;
  };
  const seen = { samples: 0, busy: 0, most: 0, twice: [] as string[] };
  const loop = (async () => {
    while (!stopped) {
      const rows = (await call('DescribeTasks', { Level: 2, TaskStatus: 'Processing', MaxResults: 100 })).Data as Row[];
      seen.samples++;
      if (rows.length) seen.busy++;
      seen.most = Math.max(seen.most, rows.length);
      const per = new Map<string, number>();
      for (const r of rows) per.set(String(r.InstanceId), (per.get(String(r.InstanceId)) ?? 0) + 1);
      for (const [id, n] of per) if (n > 1) seen.twice.push(`${id} had ${n} Processing tasks`);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  watching.set(halt, loop);
  return async () => {
    halt();
    watching.delete(halt);
    await loop;
    expect(seen.twice).toEqual([]);
    expect(seen.most).toBeLessThanOrEqual(CONCURRENCY);
    // the watch must have overlapped the work, or it proved nothing
    expect(seen.busy).toBeGreaterThan(0);
    return seen;
  };
}

/** Per phone, each of these tasks ran after the one before it had settled (the database's times, in ms). */
async function expectOneAfterAnother(ids: string[]) {
  const tasks = await Promise.all(ids.map(task));
  const byPhone = new Map<string, Task[]>();
  for (const t of tasks) byPhone.set(t.instanceId as string, [...(byPhone.get(t.instanceId as string) ?? []), t]);
  for (const list of byPhone.values()) {
    list.sort((a, b) => String(a.startTime).localeCompare(String(b.startTime)));
    for (let i = 1; i < list.length; i++) {
      const [prev, next] = [list[i - 1] as Task, list[i] as Task];
      expect(prev.finishTime, `${prev.id} then ${next.id} on ${next.instanceId}`).not.toBeNull();
      expect(String(prev.finishTime) <= String(next.startTime), `${prev.id} overlaps ${next.id}`).toBe(true);
    }
  }
}

/** the listings without owners: a restore onto another phone gives the files to that phone's uid */
const withoutOwners = (t: Map<string, Map<string, Node>>) =>
  new Map([...t].map(([k, tree]) => [k, new Map([...tree].map(([rel, n]) => [rel, { ...n, uid: 0, gid: 0 }]))]));

/** Makes the phone's APK staging folder a file, so a restore onto it fails once it starts staging. */
function breakStaging(phone: number) {
  const tmp = host(phone, '/data/local/tmp');
  renameSync(tmp, `${tmp}.away`);
  writeFileSync(tmp, 'not a folder');
  return () => {
    rmSync(tmp);
    renameSync(`${tmp}.away`, tmp);
  };
}

/** the archive's entry paths */
async function entryPaths(fileId: string) {
  const file = await db().backupFiles.get('default', fileId);
  const store = new FsObjectStore(join(stack.dataDir, 'objects', ENDPOINT));
  const paths: string[] = [];
  for await (const ev of readArchive(await store.get(String(file?.bucket), String(file?.objectKey)))) {
    if (ev.kind === 'entry') paths.push(ev.entry.header.path);
  }
  return paths;
}

const MARKER = `/data/user/0/${NOTES}/files/after-the-backup.txt`;
const MARKER_ENTRY = `apps/${NOTES}/ce/files/after-the-backup.txt`;

let source: Map<string, Map<string, Node>>;
/** backups of phone 0 holding `source` */
const files: string[] = [];

describe('one instance named by calls in flight together', () => {
  it('the same BackupApp twice at once: both accepted, run one after the other, two whole archives', async () => {
    source = trees(0);
    const stop = watchProcessing();
    const calls = await Promise.all([backupApp([0]), backupApp([0])]);
    for (const res of calls) expect((await waitTask(call, String(res.TaskId))).TaskStatus).toBe('Finished');
    await stop();
    await expectOneAfterAnother(calls.flatMap(childIds));
    const made = calls.map((res) => String(children(res)[0]?.BackupFileId));
    expect(new Set(made).size).toBe(2);
    for (const f of made) await expectVerifies(f);
    files.push(...made);
    expect(await instance(0)).toMatchObject({ AndroidInstanceStatus: 'RUNNING', Rate: 100 });
    expect(trees(0)).toEqual(source);
  });

  it('BackupApp and RecoverApp at once: both run, one after the other, and each is whole', async () => {
    // a change the restore must undo, and that the new backup holds exactly when it ran first
    writeFileSync(host(0, MARKER), 'made after the backup');
    const stop = watchProcessing();
    const [b, r] = await Promise.all([backupApp([0]), recoverApp(files[0] as string, [0])]);
    const [backupTask, restoreTask] = [childIds(b)[0] as string, childIds(r)[0] as string];
    for (const res of [b, r]) expect((await waitTask(call, String(res.TaskId))).TaskStatus).toBe('Finished');
    await stop();
    await expectOneAfterAnother([backupTask, restoreTask]);
    // in either order the phone ends as the backup that was restored
    expect(trees(0)).toEqual(source);
    const backupFirst = String((await task(backupTask)).startTime) < String((await task(restoreTask)).startTime);
    const made = String(children(b)[0]?.BackupFileId);
    await expectVerifies(made);
    expect((await entryPaths(made)).includes(MARKER_ENTRY)).toBe(backupFirst);
    expect(await fileStatus(files[0] as string)).toBe('AVAILABLE');
    expect(await instance(0)).toMatchObject({ AndroidInstanceStatus: 'RUNNING', Rate: 100 });
    console.info(`BackupApp and RecoverApp at once: the ${backupFirst ? 'backup' : 'restore'} ran first`);
  });
});

describe('DeleteBackupFile and the restores that read the file', () => {
  it('during a restore from the file: refused with IncorrectBackupFileStatus until the restore ends, then accepted', async () => {
    const fileId = files.shift() as string;
    const record = await db().backupFiles.get('default', fileId);
    const object = join(stack.dataDir, 'objects', ENDPOINT, String(record?.bucket), String(record?.objectKey));
    expect(existsSync(object) && existsSync(`${object}.json`)).toBe(true);
    writeFileSync(host(0, MARKER), 'to be undone');
    const res = await recoverApp(fileId, [0]);
    const child = childIds(res)[0] as string;
    await waitFor(async () => (await fileStatus(fileId)) === 'RECOVERING');
    let refusals = 0;
    for (;;) {
      const settledBefore = ['Finished', 'Failed'].includes((await task(child)).status);
      const refusal = await call('DeleteBackupFile', { BackupFileIdList: [fileId] }).then(
        () => null,
        (e: { code?: string; statusCode?: number }) => e,
      );
      if (refusal === null) {
        // accepted: only once the restore had settled
        expect(['Finished', 'Failed']).toContain((await task(child)).status);
        break;
      }
      expect(refusal).toMatchObject({ code: 'IncorrectBackupFileStatus', statusCode: 409 });
      expect(settledBefore, 'refused although no restore was reading the file any more').toBe(false);
      refusals++;
      await new Promise((r) => setTimeout(r, 25));
    }
    // the restore was still reading the file for at least one of the calls, or this proved nothing
    expect(refusals).toBeGreaterThan(0);
    expect(await task(child)).toMatchObject({ status: 'Finished', errorCode: null });
    expect(trees(0)).toEqual(source);
    expect((await call('DescribeBackupFiles', { BackupFileId: fileId })).Data).toEqual([]);
    expect(existsSync(object) || existsSync(`${object}.json`)).toBe(false);
    console.info(`DeleteBackupFile was refused ${refusals} times during the restore`);
  });

  it('while a restore from the file waits behind another task on its phone: refused too, and the restore then runs', async () => {
    // kept: the restores onto three phones below read it too
    const fileId = files[0] as string;
    writeFileSync(host(0, MARKER), 'to be undone');
    const ahead = await backupApp([0], [GALLERY]);
    const res = await recoverApp(fileId, [0]);
    const child = childIds(res)[0] as string;
    expect((await task(child)).status).toBe('Waiting');
    const refusal = await call('DeleteBackupFile', { BackupFileIdList: [fileId] }).then(
      () => null,
      (e: { code?: string; statusCode?: number }) => e,
    );
    expect(refusal).toMatchObject({ code: 'IncorrectBackupFileStatus', statusCode: 409 });
    expect((await waitTask(call, String(ahead.TaskId))).TaskStatus).toBe('Finished');
    expect((await waitTask(call, String(res.TaskId))).TaskStatus).toBe('Finished');
    expect(trees(0)).toEqual(source);
    await expectVerifies(fileId);
  });
});

describe('many calls at once', () => {
  it('20 BackupApp calls over three phones: all accepted, no 5xx, all finish, one task per phone at a time', async () => {
    const stop = watchProcessing();
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => backupApp([i % 3], [GALLERY])));
    // under the per-phone cap of 10 unsettled tasks, nothing is refused, least of all as a server fault
    expect(results.map(codeOf).filter((e) => e !== null)).toEqual([]);
    const accepted = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    for (const res of accepted) expect((await waitTask(call, String(res.TaskId))).TaskStatus).toBe('Finished');
    const seen = await stop();
    // both slots were in use at some point, so the one-per-phone rule was put to the test
    expect(seen.most).toBe(CONCURRENCY);
    await expectOneAfterAnother(accepted.flatMap(childIds));
    for (const res of accepted) await expectVerifies(String(children(res)[0]?.BackupFileId));
    for (const i of [0, 1, 2]) expect(await instance(i)).toMatchObject({ AndroidInstanceStatus: 'RUNNING', Rate: 100 });
  });
});

describe('one backup restored onto three phones, one of which fails', () => {
  /**
   * RecoverApp onto all three phones; `failing` picks, from the children in the order the runner
   * claims them (one creation time, then id), the one whose phone `breakIt` breaks.
   */
  async function restoreOntoThree(
    failing: (claimOrder: Row[]) => Row,
    breakIt: (phone: number, taskId: string) => Promise<() => void>,
  ) {
    const fileId = files[0] as string;
    const before = [0, 1, 2].map(trees);
    const stop = watchProcessing();
    const res = await recoverApp(fileId, [0, 1, 2]);
    const order = [...children(res)].sort((a, b) => (String(a.TaskId) < String(b.TaskId) ? -1 : 1));
    const bad = failing(order);
    const phone = stack.ids.indexOf(String(bad.AndroidInstanceId));
    const repair = await breakIt(phone, String(bad.TaskId));
    const batch = await waitTask(call, String(res.TaskId), 60_000);
    await stop();
    repair();
    const rows = (await call('DescribeTasks', { ParentTaskId: res.TaskId })).Data as Row[];
    const settled = (await Promise.all(childIds(res).map(task))).sort((a, b) =>
      String(a.finishTime).localeCompare(String(b.finishTime)),
    );
    const last = settled.at(-1) as Task;
    return { fileId, batch, rows, phone, before: before[phone], bad: await task(String(bad.TaskId)), last };
  }

  async function expectPartFinished(r: Awaited<ReturnType<typeof restoreOntoThree>>, code: string) {
    expect(r.batch).toMatchObject({
      TaskStatus: 'PartFinished',
      TotalChildCount: 3,
      SuccessChildCount: 2,
      FailedChildCount: 1,
      RunningChildCount: 0,
    });
    for (const row of r.rows) {
      const i = stack.ids.indexOf(String(row.InstanceId));
      if (i === r.phone) {
        expect(row, String(row.ErrorMsg)).toMatchObject({ TaskStatus: 'Failed', ErrorCode: code });
        expect(await instance(i)).toMatchObject({ AndroidInstanceStatus: 'RECOVER_FAILED', ErrorCode: code });
        // it failed before its apps were touched (docs/restore.md: staging leaves the target untouched)
        expect(trees(i)).toEqual(r.before);
      } else {
        expect(row).toMatchObject({ TaskStatus: 'Finished', ErrorCode: '' });
        expect(await instance(i)).toMatchObject({ AndroidInstanceStatus: 'RUNNING', Rate: 100 });
        expect(withoutOwners(trees(i))).toEqual(withoutOwners(source));
      }
    }
  }

  it('its staging folder unwritable, failing before the others end: the batch is PartFinished, the file AVAILABLE', async () => {
    const r = await restoreOntoThree(
      (order) => order[0] as Row,
      async (phone) => breakStaging(phone),
    );
    // the premise: the failing target was not the last to settle
    expect(r.last.id).not.toBe(r.bad.id);
    await expectPartFinished(r, 'DeviceOperationFailed');
    expect(r.bad.attempts).toBe(1);
    expect(await fileStatus(r.fileId)).toBe('AVAILABLE');
    await expectVerifies(r.fileId);
  });

  it('its phone gone mid-restore: retried, failed with InstanceUnreachable after the others', async () => {
    const r = await restoreOntoThree(
      (order) => order[0] as Row,
      async (phone, taskId) => {
        // mid-restore: it has read part of the archive
        await waitFor(async () => (await task(taskId)).bytesDone > 0, 30_000);
        await stack.phones[phone]?.close();
        return () => {};
      },
    );
    // a dropped connection is transient: three runs, the last ones refused at once
    expect(r.bad).toMatchObject({ status: 'Failed', attempts: 3 });
    // the premise of what follows: its retries made it the last target to settle
    expect(r.last.id).toBe(r.bad.id);
    await expectPartFinished(r, 'InstanceUnreachable');
    // a phone that went away says nothing about the file: whichever target settles last, it
    // stays AVAILABLE (lifecycle.ts restoreSettled), like the batch above
    expect(await fileStatus(r.fileId)).toBe('AVAILABLE');
    await expectVerifies(r.fileId, 'AVAILABLE');
  });
});
