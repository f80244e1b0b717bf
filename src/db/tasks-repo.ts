import type { ExpressionBuilder, Kysely, Selectable } from 'kysely';
import { AccountsRepo } from './accounts-repo.ts';
import { newId } from './ids.ts';
import { afterCursor, type Page, type PageRequest, paginate } from './paging.ts';
import type { Database, TaskTable } from './schema.ts';

export const TASK_STATUSES = ['Waiting', 'Processing', 'Finished', 'PartFinished', 'Failed'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];
/** the statuses a task (instance or batch) ends in */
export const SETTLED_STATUSES = ['Finished', 'PartFinished', 'Failed'] as const satisfies readonly TaskStatus[];
// BackupFile and RecoverFile are Alibaba's TaskType values for BackupFile and RecoveryFile (docs/api-models.md)
export const TASK_TYPES = [
  'BackupApp',
  'RecoverApp',
  'BackupFile',
  'RecoverFile',
  'BackupAndroidInstance',
  'RecoverAndroidInstance',
] as const;
export type TaskType = (typeof TASK_TYPES)[number];

export interface Task {
  id: string;
  account: string;
  parentId: string | null;
  /** 1 = batch, 2 = one instance */
  level: 1 | 2;
  type: TaskType;
  status: TaskStatus;
  /** the RequestId of the call that created it */
  invokeId: string;
  resourceId: string | null;
  instanceId: string | null;
  instanceName: string | null;
  /** the task's input as JSON text */
  param: string;
  /** the handler's return value as JSON text */
  result: string | null;
  errorCode: string | null;
  errorMsg: string | null;
  bytesDone: number;
  bytesTotal: number;
  totalChildCount: number;
  successChildCount: number;
  failedChildCount: number;
  /** children not yet settled (Waiting or Processing) */
  runningChildCount: number;
  startTime: string | null;
  finishTime: string | null;
  /** how many times a runner has claimed it; the current run's fencing token */
  attempts: number;
  /** set while a CancelTasks request waits for the task's runner to stop it */
  cancelRequested: string | null;
  created: string;
  modified: string;
}

export interface NewBatch {
  type: TaskType;
  invokeId: string;
  /** stored as JSON text */
  param: unknown;
  resourceId?: string;
  children: Array<{ id?: string; instanceId: string; instanceName: string; resourceId?: string; param: unknown }>;
}

export interface TaskFilters {
  invokeId?: string;
  resourceIds?: string[];
  taskIds?: string[];
  instanceId?: string;
  instanceName?: string;
  parentTaskId?: string;
  level?: number;
  taskStatus?: string;
  taskStatuses?: string[];
  taskType?: string;
  taskTypes?: string[];
}

export function toTask(r: Selectable<TaskTable>): Task {
  const { childTotal, childSuccess, childFailed, childRunning, leaseOwner, leaseExpires, notBefore, ...rest } = r;
  return {
    ...rest,
    level: Number(r.level) === 1 ? 1 : 2,
    type: r.type as TaskType,
    status: r.status as TaskStatus,
    bytesDone: Number(r.bytesDone),
    bytesTotal: Number(r.bytesTotal),
    totalChildCount: Number(childTotal),
    successChildCount: Number(childSuccess),
    failedChildCount: Number(childFailed),
    runningChildCount: Number(childRunning),
    attempts: Number(r.attempts),
  };
}

/**
 * A batch moves no bytes itself: its BytesDone/BytesTotal are its children's, summed when read
 * (so they are live; its own columns stay 0). Two correlated sums, read from the parent index
 * alone (migration 0011).
 */
const childBytes = (eb: ExpressionBuilder<Database, 'tasks'>) =>
  (['bytesDone', 'bytesTotal'] as const).map((column) =>
    eb
      .selectFrom('tasks as c')
      .select((e) => e.fn.coalesce(e.fn.sum(`c.${column}`), e.lit(0)).as('n'))
      .whereRef('c.parentId', '=', 'tasks.id')
      .as(column === 'bytesDone' ? 'childBytesDone' : 'childBytesTotal'),
  );

type ListedRow = Selectable<TaskTable> & { childBytesDone: unknown; childBytesTotal: unknown };

function toListedTask({ childBytesDone, childBytesTotal, ...row }: ListedRow): Task {
  const task = toTask(row);
  return task.level === 1 ? { ...task, bytesDone: Number(childBytesDone), bytesTotal: Number(childBytesTotal) } : task;
}

export class TasksRepo {
  constructor(private readonly db: Kysely<Database>) {}

  /** Creates a batch task and its per-instance tasks (all Waiting) in one transaction. */
  async createBatch(account: string, input: NewBatch): Promise<{ batch: Task; children: Task[] }> {
    const now = new Date().toISOString();
    const base = {
      account,
      type: input.type,
      status: 'Waiting' as const,
      invokeId: input.invokeId,
      result: null,
      errorCode: null,
      errorMsg: null,
      bytesDone: 0,
      bytesTotal: 0,
      childTotal: 0,
      childSuccess: 0,
      childFailed: 0,
      childRunning: 0,
      startTime: null,
      finishTime: null,
      attempts: 0,
      leaseOwner: null,
      leaseExpires: null,
      notBefore: null,
      cancelRequested: null,
      created: now,
      modified: now,
    };
    const n = input.children.length;
    const batch: Selectable<TaskTable> = {
      ...base,
      id: newId('t'),
      parentId: null,
      level: 1,
      resourceId: input.resourceId ?? null,
      instanceId: null,
      instanceName: null,
      param: JSON.stringify(input.param ?? null),
      childTotal: n,
      childRunning: n,
    };
    const children: Selectable<TaskTable>[] = input.children.map((c) => ({
      ...base,
      id: c.id ?? newId('t'),
      parentId: batch.id,
      level: 2,
      resourceId: c.resourceId ?? c.instanceId,
      instanceId: c.instanceId,
      instanceName: c.instanceName,
      param: JSON.stringify(c.param ?? null),
    }));
    const write = async (tx: Kysely<Database>) => {
      await new AccountsRepo(tx).ensure(account);
      await tx.insertInto('tasks').values(batch).execute();
      if (children.length) await tx.insertInto('tasks').values(children).execute();
    };
    await (this.db.isTransaction ? write(this.db) : this.db.transaction().execute(write));
    return { batch: toTask(batch), children: children.map(toTask) };
  }

  async get(account: string, id: string): Promise<Task | null> {
    const r = await this.db
      .selectFrom('tasks')
      .selectAll()
      .where('account', '=', account)
      .where('id', '=', id)
      .select(childBytes)
      .executeTakeFirst();
    return r ? toListedTask(r) : null;
  }

  list(account: string, f: TaskFilters = {}, page: PageRequest = {}): Promise<Page<Task>> {
    let q = this.db.selectFrom('tasks').where('account', '=', account);
    if (f.invokeId) q = q.where('invokeId', '=', f.invokeId);
    if (f.resourceIds?.length) q = q.where('resourceId', 'in', f.resourceIds);
    if (f.taskIds?.length) q = q.where('id', 'in', f.taskIds);
    if (f.instanceId) q = q.where('instanceId', '=', f.instanceId);
    if (f.instanceName) q = q.where('instanceName', '=', f.instanceName);
    if (f.parentTaskId) q = q.where('parentId', '=', f.parentTaskId);
    if (f.level !== undefined) q = q.where('level', '=', f.level);
    if (f.taskStatus) q = q.where('status', '=', f.taskStatus);
    if (f.taskStatuses?.length) q = q.where('status', 'in', f.taskStatuses);
    if (f.taskType) q = q.where('type', '=', f.taskType);
    if (f.taskTypes?.length) q = q.where('type', 'in', f.taskTypes);
    return paginate(
      page,
      10,
      async () => Number((await q.select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n),
      (after, limit) =>
        (after ? q.where(afterCursor(after)) : q)
          .selectAll()
          .select(childBytes)
          .orderBy('created', 'desc')
          .orderBy('id', 'desc')
          .limit(limit)
          .execute(),
      toListedTask,
    );
  }

  /** a batch's per-instance tasks */
  async childrenOf(account: string, batchId: string): Promise<Task[]> {
    const rows = await this.db
      .selectFrom('tasks')
      .selectAll()
      .where('account', '=', account)
      .where('parentId', '=', batchId)
      .orderBy('id')
      .execute();
    return rows.map(toTask);
  }

  /** unsettled (Waiting or Processing) per-instance restore tasks reading a backup file, other than `except` */
  async unsettledRestoresOf(fileId: string, except: string): Promise<number> {
    const row = await this.db
      .selectFrom('tasks as c')
      .innerJoin('tasks as b', 'b.id', 'c.parentId')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('c.type', 'in', RESTORE_TYPES)
      .where('c.level', '=', 2)
      .where('c.status', 'in', UNSETTLED)
      .where('b.resourceId', '=', fileId)
      .where('c.id', '!=', except)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** instances and backup files that unsettled per-instance tasks are working on */
  async busy(): Promise<{ instances: Set<string>; files: Set<string> }> {
    const rows = await this.db
      .selectFrom('tasks as c')
      .leftJoin('tasks as b', 'b.id', 'c.parentId')
      .select(['c.instanceId', 'c.type', 'c.param', 'b.resourceId as batchResource'])
      .where('c.level', '=', 2)
      .where('c.status', 'in', UNSETTLED)
      .execute();
    const instances = new Set<string>();
    const files = new Set<string>();
    for (const r of rows) {
      if (r.instanceId) instances.add(r.instanceId);
      const param = JSON.parse(r.param) as { backupFileId?: string } | null;
      if (param?.backupFileId) files.add(param.backupFileId);
      if (r.batchResource) files.add(r.batchResource);
    }
    return { instances, files };
  }

  /** the id of the task running on the instance, if any */
  async processingOn(instanceId: string): Promise<string | null> {
    const r = await this.db
      .selectFrom('tasks')
      .select('id')
      .where('instanceId', '=', instanceId)
      .where('level', '=', 2)
      .where('status', '=', 'Processing')
      .executeTakeFirst();
    return r?.id ?? null;
  }

  /** the instance's most recently settled per-instance task */
  async lastSettledOn(instanceId: string): Promise<Task | null> {
    const r = await this.db
      .selectFrom('tasks')
      .selectAll()
      .where('instanceId', '=', instanceId)
      .where('level', '=', 2)
      .where('status', 'in', ['Finished', 'Failed'])
      .orderBy('finishTime', 'desc')
      .limit(1)
      .executeTakeFirst();
    return r ? toTask(r) : null;
  }
}

const UNSETTLED = ['Waiting', 'Processing'];
/** the task types that read a backup file onto a phone */
const RESTORE_TYPES: TaskType[] = ['RecoverApp', 'RecoverFile'];
