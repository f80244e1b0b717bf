import type { Db } from '../src/db/database.ts';
import { newId } from '../src/db/ids.ts';
import type { NewBatch } from '../src/db/tasks-repo.ts';
import { settleTasks } from './settle-tasks.ts';

// A task history as months of BackupApp/RecoverApp calls leave it, for DescribeTasks to read.
// Tasks are created the service's own way (TasksRepo.createBatch, a batch and its instance tasks
// per call), then settled set-wise (settle-tasks.ts). A second account holds a tenth of the
// batches, so every query also has to leave another tenant's rows out.

export interface SeedOptions {
  total: number;
  instances: number;
  /** the account the bench's key belongs to */
  account: string;
}

export interface Seeded {
  /** a batch of `account` and two of its instance tasks */
  taskIds: string[];
  instanceIds: string[];
}

const PACKAGES = ['com.example.notes', 'com.example.gallery', 'com.tencent.mm'];
// the newest calls are still queued (the service runs one task per phone at a time)
const UNSETTLED_BATCHES = 40;

export async function seedTasks(db: Db, o: SeedOptions): Promise<Seeded> {
  const other = `${o.account}-other`;
  const phones = (account: string, n: number) => Array.from({ length: n }, (_, i) => `acp-${account}-${i}`);
  const own = phones(o.account, o.instances);
  const theirs = phones('other', Math.max(1, Math.round(o.instances / 10)));
  for (const [account, ids] of [
    [o.account, own],
    [other, theirs],
  ] as const) {
    for (const id of ids) await db.instances.add(instance(account, id));
  }
  const calls: { account: string; input: NewBatch; unsettled: boolean }[] = [];
  for (let b = 0, made = 0; made < o.total; b++) {
    const account = b % 10 === 9 ? other : o.account;
    const fleet = account === other ? theirs : own;
    const left = o.total - made - 1;
    // a last call of one instance task would leave one task over: the call before takes it
    const size = Math.min(1 + (b % 7), left) + (left - Math.min(1 + (b % 7), left) === 1 ? 1 : 0);
    const start = (b * 13) % fleet.length;
    const targets = Array.from({ length: size }, (_, i) => fleet[(start + i) % fleet.length] as string);
    made += 1 + size;
    calls.push({ account, input: call(b, targets), unsettled: o.total - made < UNSETTLED_BATCHES * 5 });
  }
  const finished: string[] = [];
  const failed: string[] = [];
  const waiting: { id: string; instanceId: string }[] = [];
  const sample: string[] = [];
  // 500 calls a transaction: one commit each, not 20,000
  const middle = Math.floor(calls.length / 1000);
  for (let c = 0; c * 500 < calls.length; c++) {
    await db.transaction(async (tx) => {
      for (const [j, { account, input, unsettled }] of calls.slice(c * 500, c * 500 + 500).entries()) {
        const { batch, children } = await tx.tasks.createBatch(account, input);
        // a call from the middle of the history (call 500 × c is the bench account's)
        if (c === middle && j === 0) sample.push(batch.id, ...children.slice(0, 2).map((t) => t.id));
        for (const [i, t] of children.entries()) {
          if (unsettled) waiting.push({ id: t.id, instanceId: t.instanceId ?? '' });
          else ((c + j + i) % 12 === 0 ? failed : finished).push(t.id);
        }
      }
    });
  }
  await settleTasks(db, finished, failed, waiting);
  return { taskIds: sample, instanceIds: own };
}

/**
 * The same rows into another database (the PostgreSQL run reads exactly what the SQLite run
 * did), in statements of 1,000 rows: batches first, for the parent_id foreign key.
 */
export async function copyTasks(from: Db, to: Db): Promise<void> {
  const accounts = await from.kysely.selectFrom('accounts').selectAll().execute();
  await to.kysely
    .insertInto('accounts')
    .values(accounts)
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
  await to.kysely
    .insertInto('instances')
    .values(await from.kysely.selectFrom('instances').selectAll().execute())
    .execute();
  const tasks = await from.kysely.selectFrom('tasks').selectAll().orderBy('level').orderBy('created').execute();
  for (let i = 0; i < tasks.length; i += 1000) {
    await to.kysely
      .insertInto('tasks')
      .values(tasks.slice(i, i + 1000))
      .execute();
  }
}

function call(b: number, targets: string[]): NewBatch {
  if (b % 3 === 2) {
    const file = newId('bf');
    return {
      type: 'RecoverApp',
      invokeId: crypto.randomUUID().toUpperCase(),
      resourceId: file,
      param: { BackupFileId: file, AndroidInstanceIdList: targets, UploadType: 'OSS' },
      children: targets.map((id) => ({ instanceId: id, instanceName: id, param: { backupFileId: file } })),
    };
  }
  const packages = PACKAGES.slice(0, 1 + (b % PACKAGES.length));
  return {
    type: 'BackupApp',
    invokeId: crypto.randomUUID().toUpperCase(),
    param: {
      AndroidInstanceIdList: targets,
      SourceAppList: packages,
      BackupFilePath: 'oss://backups/apps/',
      UploadEndpoint: 'oss-cn-hangzhou.aliyuncs.com',
    },
    children: targets.map((id) => ({
      instanceId: id,
      instanceName: id,
      param: { backupFileId: newId('bf'), packages },
    })),
  };
}

function instance(account: string, id: string) {
  return {
    id,
    account,
    name: id,
    adbAddress: '10.0.0.1:5555',
    imageId: 'imgc-bench',
    imageVersion: '1.0.0',
    imageType: 'custom' as const,
    instanceType: 'acp.basic.small',
    androidVersion: '12',
    sdk: 31,
    abi: 'arm64-v8a',
    fingerprint: 'bench/phone/phone:12/SP1A/1:user/release-keys',
    instanceGroupId: 'ag-bench',
  };
}
