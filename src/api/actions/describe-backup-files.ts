import type { ServiceDeps } from '../../backup/service-deps.ts';
import { DEFAULT_REGION_ID } from '../../config.ts';
import { BACKUP_FILE_STATUSES, type BackupFile } from '../../db/backup-files-repo.ts';
import { END_USER_ID, INSTANCE_GROUP_ID } from '../../db/instances-repo.ts';
import { objectUrl } from '../../storage/object-key.ts';
import { defineAction, param } from '../action.ts';
import { INSTANCE_ID, nextTokenProblem, plainTime, RESOURCE_ID } from '../format.ts';

export const describeBackupFiles = (deps: ServiceDeps) =>
  defineAction({
    name: 'DescribeBackupFiles',
    params: {
      BackupFileId: param.string({ pattern: RESOURCE_ID }),
      BackupFileName: param.string({ maxLength: 128 }),
      AndroidInstanceId: param.string({ pattern: INSTANCE_ID }),
      AndroidInstanceName: param.string({ maxLength: 128 }),
      Description: param.string({ maxLength: 256 }),
      StatusList: param.stringList({}, { enum: BACKUP_FILE_STATUSES }),
      StartTime: param.time(),
      EndTime: param.time(),
      InstanceGroupId: param.string({ pattern: INSTANCE_GROUP_ID }),
      EndUserId: param.string({ pattern: END_USER_ID }),
      // true: only whole-instance backups (BackupAndroidInstance); false: only the others
      BackupAll: param.boolean(),
      SaleMode: param.string(),
      MaxResults: param.integer({ min: 1, max: 100, default: 10 }),
      NextToken: param.string({ maxLength: 512, check: nextTokenProblem }),
    },
    async handle(p, ctx) {
      const page = await deps.db.backupFiles.list(
        ctx.account,
        {
          backupFileId: p.BackupFileId,
          backupFileName: p.BackupFileName,
          androidInstanceId: p.AndroidInstanceId,
          androidInstanceName: p.AndroidInstanceName,
          description: p.Description,
          statusList: p.StatusList,
          startTime: p.StartTime,
          endTime: p.EndTime,
          instanceGroupId: p.InstanceGroupId,
          endUserId: p.EndUserId,
          backupAll: p.BackupAll,
        },
        { maxResults: p.MaxResults, nextToken: p.NextToken },
      );
      return {
        TotalCount: page.totalCount,
        MaxResults: String(page.maxResults),
        NextToken: page.nextToken,
        Data: page.items.map((f) => render(f, deps.regionId ?? DEFAULT_REGION_ID)),
      };
    },
  });

function render(f: BackupFile, regionId: string) {
  return {
    BackupFileId: f.id,
    BackupFileName: f.name,
    BackupFilePath: objectUrl(f.bucket, f.objectKey),
    AndroidInstanceId: f.instanceId,
    AndroidInstanceName: f.instanceName,
    InstanceGroupId: f.instanceGroupId ?? '',
    EndUserId: f.endUserId ?? '',
    RegionId: regionId,
    SystemVersion: systemVersion(f),
    Description: f.description,
    FileSize: f.size,
    GmtCreated: plainTime(f.created),
    GmtModified: plainTime(f.modified),
    SourceAppInfoList: f.apps,
    SourceFilePathList: f.paths,
    Status: f.status,
    TaskId: f.taskId ?? '',
    UploadEndpoint: f.endpoint,
    UploadType: 'OSS',
    BackupAll: f.backupAll,
  };
}

/** the Android the backup was made on, as its manifest records it ('' until the archive is complete) */
function systemVersion(f: BackupFile): string {
  if (!f.manifest) return '';
  const version = (JSON.parse(f.manifest) as { instance?: { androidVersion?: unknown } }).instance?.androidVersion;
  return typeof version === 'string' ? `Android ${version}` : '';
}
