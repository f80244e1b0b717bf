import { PACKAGE_NAME } from '../../android/names.ts';
import { requestBackup } from '../../backup/request-backup.ts';
import type { ServiceDeps } from '../../backup/service-deps.ts';
import { defineAction, param } from '../action.ts';
import { INSTANCE_ID } from '../format.ts';
import { assertTaskRoom } from './task-cap.ts';

export const backupApp = (deps: ServiceDeps) =>
  defineAction({
    name: 'BackupApp',
    params: {
      AndroidInstanceIdList: param.stringList({ required: true }, { pattern: INSTANCE_ID }),
      SourceAppList: param.stringList({ required: true }, { pattern: PACKAGE_NAME, maxLength: 255 }),
      BackupFilePath: param.string({ required: true }),
      UploadEndpoint: param.string({ required: true, maxLength: 253 }),
      BackupFileName: param.string({ pattern: /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/ }),
      Description: param.string({ maxLength: 256 }),
    },
    async handle(p, ctx) {
      const req = {
        instanceIds: p.AndroidInstanceIdList,
        packages: p.SourceAppList,
        path: p.BackupFilePath,
        endpoint: p.UploadEndpoint,
        name: p.BackupFileName,
        description: p.Description,
      };
      await assertTaskRoom(deps.db.kysely, ctx.account, p.AndroidInstanceIdList, deps.maxPendingTasks);
      const { taskId, items } = await requestBackup(deps, ctx.account, req, ctx.requestId);
      return {
        TaskId: taskId,
        Count: items.length,
        Data: items.map((it) => ({
          AndroidInstanceId: it.instanceId,
          BackupFileId: it.backupFileId,
          BackupFileName: it.backupFileName,
          TaskId: it.taskId,
        })),
      };
    },
  });
