import type { Kysely, Selectable } from 'kysely';
import { AccountsRepo } from './accounts-repo.ts';
import { newId } from './ids.ts';
import { afterCursor, fuzzy, type Page, type PageRequest, paginate } from './paging.ts';
import type { BackupFileTable, Database } from './schema.ts';

/** notes/eds-aic-api.md §5.2 (RECOVERY_FAILED is spelled differently from the instance status) */
export const BACKUP_FILE_STATUSES = [
  'AVAILABLE',
  'BACKUPING',
  'RECOVERING',
  'DELETING',
  'BACKUP_FAILED',
  'RECOVERY_FAILED',
  'PART_BACKUP_FINISHED',
] as const;
export type BackupFileStatus = (typeof BACKUP_FILE_STATUSES)[number];

export interface BackupFile {
  id: string;
  account: string;
  instanceId: string;
  instanceName: string;
  name: string;
  description: string;
  /** oss://bucket/dir/ as the user gave it */
  path: string;
  endpoint: string;
  bucket: string;
  objectKey: string;
  status: BackupFileStatus;
  size: number;
  sha256: string | null;
  apps: string[];
  /** BackupFile's SourceFilePathList, normalised (empty for app backups) */
  paths: string[];
  /** a whole-instance backup (BackupAndroidInstance): every third-party app, shared storage, settings */
  backupAll: boolean;
  /** the archive manifest as JSON text */
  manifest: string | null;
  taskId: string | null;
  created: string;
  modified: string;
  /** the source instance's group and end user when the backup was made */
  instanceGroupId: string | null;
  endUserId: string | null;
}

export type NewBackupFile = Omit<
  BackupFile,
  | 'id'
  | 'status'
  | 'size'
  | 'sha256'
  | 'manifest'
  | 'created'
  | 'modified'
  | 'taskId'
  | 'instanceGroupId'
  | 'endUserId'
  | 'paths'
  | 'backupAll'
> &
  Partial<Pick<BackupFile, 'instanceGroupId' | 'endUserId'>> & {
    id?: string;
    status?: BackupFileStatus;
    taskId?: string | null;
    paths?: string[];
    backupAll?: boolean;
  };

export type BackupFilePatch = Partial<
  Pick<BackupFile, 'status' | 'size' | 'sha256' | 'manifest' | 'objectKey' | 'apps' | 'taskId'>
>;

export interface BackupFileFilters {
  backupFileId?: string;
  /** fuzzy */
  backupFileName?: string;
  androidInstanceId?: string;
  /** fuzzy */
  androidInstanceName?: string;
  /** fuzzy */
  description?: string;
  statusList?: string[];
  /** created at or after */
  startTime?: Date;
  /** created at or before */
  endTime?: Date;
  instanceGroupId?: string;
  endUserId?: string;
  backupAll?: boolean;
}

const toFile = ({ sourcePaths, backupAll, ...r }: Selectable<BackupFileTable>): BackupFile => ({
  ...r,
  backupAll: Number(backupAll) === 1,
  status: r.status as BackupFileStatus,
  size: Number(r.size),
  apps: JSON.parse(r.apps) as string[],
  paths: JSON.parse(sourcePaths) as string[],
});

/** the statuses a complete backup file rests in between uses: restores start from these */
export const RESTORABLE_STATUSES: BackupFileStatus[] = ['AVAILABLE', 'PART_BACKUP_FINISHED', 'RECOVERY_FAILED'];

/**
 * The status of a complete backup when nothing uses it: PART_BACKUP_FINISHED when its manifest
 * records items the request named but the backup could not hold (a missing path, an app not
 * installed), AVAILABLE otherwise. A restore from it returns it here.
 */
export function restingStatus(manifest: string | { failed?: unknown[] } | null): 'AVAILABLE' | 'PART_BACKUP_FINISHED' {
  let parsed: { failed?: unknown[] } | null = null;
  try {
    parsed = typeof manifest === 'string' ? (JSON.parse(manifest) as { failed?: unknown[] }) : manifest;
  } catch {
    parsed = null;
  }
  return parsed?.failed?.length ? 'PART_BACKUP_FINISHED' : 'AVAILABLE';
}

export class BackupFilesRepo {
  constructor(private readonly db: Kysely<Database>) {}

  async create(input: NewBackupFile): Promise<BackupFile> {
    const now = new Date().toISOString();
    const file: BackupFile = {
      ...input,
      paths: input.paths ?? [],
      backupAll: input.backupAll ?? false,
      id: input.id ?? newId('bf'),
      status: input.status ?? 'BACKUPING',
      size: 0,
      sha256: null,
      manifest: null,
      taskId: input.taskId ?? null,
      instanceGroupId: input.instanceGroupId ?? null,
      endUserId: input.endUserId ?? null,
      created: now,
      modified: now,
    };
    await new AccountsRepo(this.db).ensure(input.account);
    const { paths, backupAll, ...row } = file;
    await this.db
      .insertInto('backupFiles')
      .values({
        ...row,
        apps: JSON.stringify(file.apps),
        sourcePaths: JSON.stringify(paths),
        backupAll: backupAll ? 1 : 0,
      })
      .execute();
    return file;
  }

  async get(account: string, id: string): Promise<BackupFile | null> {
    const r = await this.db
      .selectFrom('backupFiles')
      .selectAll()
      .where('account', '=', account)
      .where('id', '=', id)
      .executeTakeFirst();
    return r ? toFile(r) : null;
  }

  /** the account's backup file stored as this object (RecoveryFile names one by BackupFilePath) */
  async byObject(account: string, bucket: string, objectKey: string): Promise<BackupFile | null> {
    const r = await this.db
      .selectFrom('backupFiles')
      .selectAll()
      .where('account', '=', account)
      .where('bucket', '=', bucket)
      .where('objectKey', '=', objectKey)
      .executeTakeFirst();
    return r ? toFile(r) : null;
  }

  /** the distinct BackupFilePaths backups are written to, with their endpoints (for the reconciler) */
  async places(): Promise<{ endpoint: string; bucket: string; path: string }[]> {
    return this.db.selectFrom('backupFiles').select(['endpoint', 'bucket', 'path']).distinct().execute();
  }

  /** every account's backup files in one of these statuses (for the reconciler) */
  async withStatus(statuses: BackupFileStatus[]): Promise<BackupFile[]> {
    const rows = await this.db.selectFrom('backupFiles').selectAll().where('status', 'in', statuses).execute();
    return rows.map(toFile);
  }

  list(account: string, f: BackupFileFilters = {}, page: PageRequest = {}): Promise<Page<BackupFile>> {
    let q = this.db.selectFrom('backupFiles').where('account', '=', account);
    if (f.backupFileId) q = q.where('id', '=', f.backupFileId);
    if (f.backupFileName) q = q.where(fuzzy('name', f.backupFileName));
    if (f.androidInstanceId) q = q.where('instanceId', '=', f.androidInstanceId);
    if (f.androidInstanceName) q = q.where(fuzzy('instanceName', f.androidInstanceName));
    if (f.description) q = q.where(fuzzy('description', f.description));
    if (f.statusList?.length) q = q.where('status', 'in', f.statusList);
    if (f.startTime) q = q.where('created', '>=', f.startTime.toISOString());
    if (f.endTime) q = q.where('created', '<=', f.endTime.toISOString());
    if (f.instanceGroupId) q = q.where('instanceGroupId', '=', f.instanceGroupId);
    if (f.endUserId) q = q.where('endUserId', '=', f.endUserId);
    if (f.backupAll !== undefined) q = q.where('backupAll', '=', f.backupAll ? 1 : 0);
    return paginate(
      page,
      10,
      async () => Number((await q.select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n),
      (after, limit) =>
        (after ? q.where(afterCursor(after)) : q)
          .selectAll()
          .orderBy('created', 'desc')
          .orderBy('id', 'desc')
          .limit(limit)
          .execute(),
      toFile,
    );
  }

  /**
   * Applies the patch; with `expectStatus`, only while the file is in one of those statuses (a
   * compare-and-set, so e.g. a delete cannot race a restore). Null when nothing matched.
   */
  async update(
    account: string,
    id: string,
    patch: BackupFilePatch,
    opts: { expectStatus?: BackupFileStatus[] } = {},
  ): Promise<BackupFile | null> {
    const { apps, ...rest } = patch;
    let q = this.db
      .updateTable('backupFiles')
      .set({ ...rest, ...(apps ? { apps: JSON.stringify(apps) } : {}), modified: new Date().toISOString() })
      .where('account', '=', account)
      .where('id', '=', id);
    if (opts.expectStatus) {
      if (opts.expectStatus.length === 0) return null;
      q = q.where('status', 'in', opts.expectStatus);
    }
    const res = await q.executeTakeFirst();
    return Number(res.numUpdatedRows) === 1 ? this.get(account, id) : null;
  }

  /** false when there was no such file in the account */
  async delete(account: string, id: string): Promise<boolean> {
    const res = await this.db
      .deleteFrom('backupFiles')
      .where('account', '=', account)
      .where('id', '=', id)
      .executeTakeFirst();
    return Number(res.numDeletedRows) === 1;
  }
}
