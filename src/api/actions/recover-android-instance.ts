import { type RecoverFileItem, requestRecoverFile } from '../../backup/files/request-recover-file.ts';
import type { ServiceDeps } from '../../backup/service-deps.ts';
import { defineAction, param } from '../action.ts';
import { CLIENT_TOKEN, idempotent } from '../client-token.ts';
import { INSTANCE_ID, RESOURCE_ID } from '../format.ts';
import { assertTaskRoom } from './task-cap.ts';

// RecoverAndroidInstance (docs/api-models.md; docs/instance-backups.md): a whole-instance backup
// onto each listed instance, the same or a compatible one (the apps' compatibility rules apply).
// The SDK requires BackupFilePath and UploadType and makes BackupFileId optional: either names
// the file here, and a file that is not a whole-instance backup is refused.

const body = (r: { taskId: string; items: RecoverFileItem[] }) => ({
  TaskId: r.taskId,
  Count: r.items.length,
  Data: r.items.map((it) => ({ AndroidInstanceId: it.instanceId, TaskId: it.taskId })),
});

export const recoverAndroidInstance = (deps: ServiceDeps) =>
  defineAction({
    name: 'RecoverAndroidInstance',
    params: {
      AndroidInstanceIdList: param.stringList({ required: true }, { pattern: INSTANCE_ID }),
      BackupFileId: param.string({ pattern: RESOURCE_ID }),
      BackupFilePath: param.string(),
      UploadType: param.string({ required: true, enum: ['OSS'] }),
      UploadEndpoint: param.string({ maxLength: 253 }),
      ClientToken: CLIENT_TOKEN,
    },
    handle: (p, ctx) =>
      idempotent(deps.db, ctx, 'RecoverAndroidInstance', p, async (seal) => {
        const req = {
          backupFileId: p.BackupFileId,
          path: p.BackupFilePath,
          endpoint: p.UploadEndpoint,
          instanceIds: p.AndroidInstanceIdList,
          type: 'RecoverAndroidInstance' as const,
        };
        await assertTaskRoom(deps.db.kysely, ctx.account, p.AndroidInstanceIdList, deps.maxPendingTasks);
        await requestRecoverFile(deps, ctx.account, req, ctx.requestId, (tx, r) => seal(tx, body(r)));
      }),
  });
