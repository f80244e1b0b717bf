import type { Kysely, Selectable } from 'kysely';
import { ERRORS } from '../errors.ts';
import { AccountsRepo } from './accounts-repo.ts';
import { afterCursor, type Page, type PageRequest, paginate } from './paging.ts';
import type { Database, InstanceTable } from './schema.ts';

/** Alibaba's instance statuses (notes/eds-aic-api.md §5.1) */
export const INSTANCE_STATUSES = [
  'CREATING',
  'RUNNING',
  'STOPPING',
  'STOPPED',
  'STARTING',
  'REBOOTING',
  'RESETTING',
  'BACKUPING',
  'BACKUP_FAILED',
  'RECOVERING',
  'RECOVER_FAILED',
  'UNAVAILABLE',
  'FAILED',
  'DELETING',
  'DELETED',
] as const;
export type InstanceStatus = (typeof INSTANCE_STATUSES)[number];

/** Alibaba's instance group ids: `ag-` and lower-case letters and digits (docs/api-models.md, e.g. ag-25nt4kk9whjh****) */
export const INSTANCE_GROUP_ID = /^ag-[a-z0-9]{1,40}$/;
/**
 * EDS end user names: 3 to 24 lower-case letters, digits and underscores (eds-user CreateUsers,
 * EndUserId: https://alibabacloud.com/help/en/wuying-workspace/api-eds-user-2021-03-08-createusers-desktop)
 */
export const END_USER_ID = /^[a-z0-9_]{3,24}$/;

export interface Instance {
  id: string;
  account: string;
  name: string;
  adbAddress: string;
  imageId: string;
  imageVersion: string;
  imageType: 'public' | 'custom';
  instanceType: string;
  androidVersion: string;
  sdk: number;
  abi: string;
  fingerprint: string;
  status: InstanceStatus;
  errorCode: string | null;
  /** backup/restore progress, 0–100 */
  rate: number;
  created: string;
  modified: string;
  instanceGroupId: string | null;
  endUserId: string | null;
  /** what the phone last reported (when added, and at each task's start); null: it did not say */
  cpuCount: number | null;
  /** MemTotal, MiB */
  memoryMb: number | null;
  displayWidth: number | null;
  displayHeight: number | null;
  displayDpi: number | null;
  networkIp: string | null;
}

/** the columns the phone's own report fills */
type Reported = 'androidVersion' | 'sdk' | 'abi' | 'fingerprint' | Hardware;
type Hardware = 'cpuCount' | 'memoryMb' | 'displayWidth' | 'displayHeight' | 'displayDpi' | 'networkIp';

export type NewInstance = Omit<
  Instance,
  'status' | 'errorCode' | 'rate' | 'created' | 'modified' | 'instanceGroupId' | 'endUserId' | Hardware
> &
  Partial<Pick<Instance, 'instanceGroupId' | 'endUserId' | Hardware>> & { status?: InstanceStatus };

/** what a phone says about itself (the device port's properties(), structurally) */
export interface ReportedFacts {
  androidVersion: string;
  sdk: number;
  abi: string;
  fingerprint: string;
  cpuCount: number | null;
  memoryMb: number | null;
  display: { width: number; height: number; dpi: number } | null;
  networkIp: string | null;
}

export function reportedColumns(r: ReportedFacts): Pick<Instance, Reported> {
  return {
    androidVersion: r.androidVersion,
    sdk: r.sdk,
    abi: r.abi,
    fingerprint: r.fingerprint,
    cpuCount: r.cpuCount,
    memoryMb: r.memoryMb,
    displayWidth: r.display?.width ?? null,
    displayHeight: r.display?.height ?? null,
    displayDpi: r.display?.dpi ?? null,
    networkIp: r.networkIp,
  };
}

export interface InstanceFilters {
  ids?: string[];
  name?: string;
  status?: string;
  /** DescribeAndroidInstances' InstanceGroupId and InstanceGroupIds: an instance must match both when both are given */
  groupId?: string;
  groupIds?: string[];
}

const nullableNumber = (v: number | null) => (v === null ? null : Number(v));

const toInstance = (r: Selectable<InstanceTable>): Instance => ({
  ...r,
  imageType: r.imageType as Instance['imageType'],
  status: r.status as InstanceStatus,
  sdk: Number(r.sdk),
  rate: Number(r.rate),
  cpuCount: nullableNumber(r.cpuCount),
  memoryMb: nullableNumber(r.memoryMb),
  displayWidth: nullableNumber(r.displayWidth),
  displayHeight: nullableNumber(r.displayHeight),
  displayDpi: nullableNumber(r.displayDpi),
});

export class InstancesRepo {
  constructor(private readonly db: Kysely<Database>) {}

  async add(input: NewInstance): Promise<Instance> {
    const now = new Date().toISOString();
    const row: Instance = {
      instanceGroupId: null,
      endUserId: null,
      cpuCount: null,
      memoryMb: null,
      displayWidth: null,
      displayHeight: null,
      displayDpi: null,
      networkIp: null,
      ...input,
      status: input.status ?? 'RUNNING',
      errorCode: null,
      rate: 0,
      created: now,
      modified: now,
    };
    await new AccountsRepo(this.db).ensure(input.account);
    const res = await this.db
      .insertInto('instances')
      .values(row)
      .onConflict((oc) => oc.column('id').doNothing())
      .executeTakeFirst();
    if (Number(res.numInsertedOrUpdatedRows ?? 0n) !== 1) throw ERRORS.alreadyExists(`Instance ${input.id}`);
    return row;
  }

  async get(account: string, id: string): Promise<Instance | null> {
    const r = await this.db
      .selectFrom('instances')
      .selectAll()
      .where('account', '=', account)
      .where('id', '=', id)
      .executeTakeFirst();
    return r ? toInstance(r) : null;
  }

  /** the statuses of those of `ids` that are the account's, in one query (DescribeTasks' page) */
  async statuses(account: string, ids: readonly string[]): Promise<Map<string, InstanceStatus>> {
    if (!ids.length) return new Map();
    const rows = await this.db
      .selectFrom('instances')
      .select(['id', 'status'])
      .where('account', '=', account)
      .where('id', 'in', ids)
      .execute();
    return new Map(rows.map((r) => [r.id, r.status as InstanceStatus]));
  }

  /** every account's instances in one of these statuses (for the reconciler) */
  async withStatus(statuses: InstanceStatus[]): Promise<Instance[]> {
    const rows = await this.db.selectFrom('instances').selectAll().where('status', 'in', statuses).execute();
    return rows.map(toInstance);
  }

  /** an instance of any account by its id (ids are unique across accounts; for the reconciler) */
  async byId(id: string): Promise<Instance | null> {
    const r = await this.db.selectFrom('instances').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? toInstance(r) : null;
  }

  list(account: string, f: InstanceFilters = {}, page: PageRequest = {}): Promise<Page<Instance>> {
    let q = this.db.selectFrom('instances').where('account', '=', account);
    if (f.ids?.length) q = q.where('id', 'in', f.ids);
    if (f.name) q = q.where('name', '=', f.name);
    if (f.status) q = q.where('status', '=', f.status);
    if (f.groupId) q = q.where('instanceGroupId', '=', f.groupId);
    if (f.groupIds?.length) q = q.where('instanceGroupId', 'in', f.groupIds);
    return paginate(
      page,
      100,
      async () => Number((await q.select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n),
      (after, limit) =>
        (after ? q.where(afterCursor(after)) : q)
          .selectAll()
          .orderBy('created', 'desc')
          .orderBy('id', 'desc')
          .limit(limit)
          .execute(),
      toInstance,
    );
  }

  /**
   * Records what the phone reports now (at each task's start): a phone updated to a newer build or
   * given another display is described as it is. Not a change by the owner, so GmtModified stays.
   */
  async recordFacts(id: string, reported: ReportedFacts): Promise<void> {
    await this.db.updateTable('instances').set(reportedColumns(reported)).where('id', '=', id).execute();
  }

  /** false when there was no such instance in the account */
  async remove(account: string, id: string): Promise<boolean> {
    const res = await this.db
      .deleteFrom('instances')
      .where('account', '=', account)
      .where('id', '=', id)
      .executeTakeFirst();
    return Number(res.numDeletedRows) === 1;
  }

  /**
   * Sets the status; errorCode is cleared unless given, rate kept unless given. With `expect`,
   * only while the instance is still in that status (false when it was not).
   */
  async setStatus(
    id: string,
    status: InstanceStatus,
    opts: { errorCode?: string; rate?: number; expect?: InstanceStatus } = {},
  ): Promise<boolean> {
    let q = this.db
      .updateTable('instances')
      .set({
        status,
        errorCode: opts.errorCode ?? null,
        ...(opts.rate === undefined ? {} : { rate: Math.max(0, Math.min(100, Math.round(opts.rate))) }),
        modified: new Date().toISOString(),
      })
      .where('id', '=', id);
    if (opts.expect) q = q.where('status', '=', opts.expect);
    return Number((await q.executeTakeFirst()).numUpdatedRows) === 1;
  }
}
