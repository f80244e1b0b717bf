import type { ServiceDeps } from '../../backup/service-deps.ts';
import { BACKUP_FILE_STATUSES, type BackupFile } from '../../db/backup-files-repo.ts';
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
      // instance groups, end users and full-instance backups do not exist here: such filters match nothing
      InstanceGroupId: param.string(),
      EndUserId: param.string(),
      BackupAll: param.boolean(),
      SaleMode: param.string(),
      MaxResults: param.integer({ min: 1, max: 100, default: 10 }),
      NextToken: param.string({ maxLength: 512, check: nextTokenProblem }),
    },
    async handle(p, ctx) {
      const nothing = p.InstanceGroupId !== undefined || p.EndUserId !== undefined || p.BackupAll === true;
      const page = await deps.db.backupFiles.list(
        ctx.account,
        {
          backupFileId: p.BackupFileId,
          backupFileName: p.BackupFileName,
          androidInstanceId: p.AndroidInstanceId,
          androidInstanceName: p.AndroidInstanceName,
          description: p.Description,
          statusList: nothing ? ['NONE'] : p.StatusList,
          startTime: p.StartTime,
          endTime: p.EndTime,
        },
        { maxResults: p.MaxResults, nextToken: p.NextToken },
      );
      return {
        TotalCount: page.totalCount,
        MaxResults: String(page.maxResults),
        NextToken: page.nextToken,
        Data: page.items.map(render),
      };
    },
  });

function render(f: BackupFile) {
  return {
    BackupFileId: f.id,
    BackupFileName: f.name,
    BackupFilePath: objectUrl(f.bucket, f.objectKey),
    AndroidInstanceId: f.instanceId,
    AndroidInstanceName: f.instanceName,
    Description: f.description,
    FileSize: f.size,
    GmtCreated: plainTime(f.created),
    GmtModified: plainTime(f.modified),
    SourceAppInfoList: f.apps,
    Status: f.status,
    TaskId: f.taskId ?? '',
    UploadEndpoint: f.endpoint,
    UploadType: 'OSS',
    BackupAll: false,
  };
}
