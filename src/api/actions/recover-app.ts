import { requestRecover } from '../../backup/request-recover.ts';
import type { ServiceDeps } from '../../backup/service-deps.ts';
import { defineAction, param } from '../action.ts';
import { INSTANCE_ID, RESOURCE_ID } from '../format.ts';
import { assertTaskRoom } from './task-cap.ts';

export const recoverApp = (deps: ServiceDeps) =>
  defineAction({
    name: 'RecoverApp',
    params: {
      BackupFileId: param.string({ required: true, pattern: RESOURCE_ID }),
      AndroidInstanceIdList: param.stringList({ required: true }, { pattern: INSTANCE_ID }),
      UploadType: param.string({ required: true, enum: ['OSS'] }),
      BackupFilePath: param.string(),
      UploadEndpoint: param.string({ maxLength: 253 }),
    },
    async handle(p, ctx) {
      const req = {
        backupFileId: p.BackupFileId,
        instanceIds: p.AndroidInstanceIdList,
        path: p.BackupFilePath,
        endpoint: p.UploadEndpoint,
      };
      await assertTaskRoom(deps.db.kysely, ctx.account, p.AndroidInstanceIdList, deps.maxPendingTasks);
      const { taskId, items } = await requestRecover(deps, ctx.account, req, ctx.requestId);
      return {
        TaskId: taskId,
        Count: items.length,
        Data: items.map((it) => ({ AndroidInstanceId: it.instanceId, TaskId: it.taskId })),
      };
    },
  });
