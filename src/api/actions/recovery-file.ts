import { type RecoverFileItem, requestRecoverFile } from '../../backup/files/request-recover-file.ts';
import type { ServiceDeps } from '../../backup/service-deps.ts';
import { ERRORS } from '../../errors.ts';
import { defineAction, param } from '../action.ts';
import { CLIENT_TOKEN, idempotent } from '../client-token.ts';
import { INSTANCE_ID, RESOURCE_ID } from '../format.ts';
import { assertTaskRoom } from './task-cap.ts';

// RecoveryFile (docs/api-models.md): everything a backup file holds (its paths, and its apps)
// back onto each listed instance, the source phone or others (replication). Its tasks are
// Alibaba's TaskType RecoverFile.

const body = (r: { taskId: string; items: RecoverFileItem[] }) => ({
  TaskId: r.taskId,
  Count: r.items.length,
  Data: r.items.map((it) => ({ AndroidInstanceId: it.instanceId, TaskId: it.taskId })),
});

export const recoveryFile = (deps: ServiceDeps) =>
  defineAction({
    name: 'RecoveryFile',
    params: {
      AndroidInstanceIdList: param.stringList({ required: true }, { pattern: INSTANCE_ID }),
      BackupFileId: param.string({ pattern: RESOURCE_ID }),
      BackupFilePath: param.string(),
      BackupAll: param.boolean(),
      UploadType: param.string({ enum: ['OSS'] }),
      UploadEndpoint: param.string({ maxLength: 253 }),
      ClientToken: CLIENT_TOKEN,
    },
    handle: (p, ctx) =>
      idempotent(deps.db, ctx, 'RecoveryFile', p, async (seal) => {
        if (p.BackupAll === true) {
          throw ERRORS.invalidParameter(
            'BackupAll',
            'a whole-instance restore is RecoverAndroidInstance; RecoveryFile restores what a BackupFile saved',
          );
        }
        const req = {
          backupFileId: p.BackupFileId,
          path: p.BackupFilePath,
          endpoint: p.UploadEndpoint,
          instanceIds: p.AndroidInstanceIdList,
        };
        await assertTaskRoom(deps.db.kysely, ctx.account, p.AndroidInstanceIdList, deps.maxPendingTasks);
        await requestRecoverFile(deps, ctx.account, req, ctx.requestId, (tx, r) => seal(tx, body(r)));
      }),
  });
