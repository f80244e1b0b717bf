import { type RecoverItem, requestRecover } from '../../backup/request-recover.ts';
import type { ServiceDeps } from '../../backup/service-deps.ts';
import { defineAction, param } from '../action.ts';
import { CLIENT_TOKEN, idempotent } from '../client-token.ts';
import { INSTANCE_ID, RESOURCE_ID } from '../format.ts';
import { assertTaskRoom } from './task-cap.ts';

const body = (r: { taskId: string; items: RecoverItem[] }) => ({
  TaskId: r.taskId,
  Count: r.items.length,
  Data: r.items.map((it) => ({ AndroidInstanceId: it.instanceId, TaskId: it.taskId })),
});

export const recoverApp = (deps: ServiceDeps) =>
  defineAction({
    name: 'RecoverApp',
    params: {
      BackupFileId: param.string({ required: true, pattern: RESOURCE_ID }),
      AndroidInstanceIdList: param.stringList({ required: true }, { pattern: INSTANCE_ID }),
      UploadType: param.string({ required: true, enum: ['OSS'] }),
      BackupFilePath: param.string(),
      UploadEndpoint: param.string({ maxLength: 253 }),
      ClientToken: CLIENT_TOKEN,
    },
    handle: (p, ctx) =>
      idempotent(deps.db, ctx, 'RecoverApp', p, async (seal) => {
        const req = {
          backupFileId: p.BackupFileId,
          instanceIds: p.AndroidInstanceIdList,
          path: p.BackupFilePath,
          endpoint: p.UploadEndpoint,
        };
        await assertTaskRoom(deps.db.kysely, ctx.account, p.AndroidInstanceIdList, deps.maxPendingTasks);
        await requestRecover(deps, ctx.account, req, ctx.requestId, (tx, r) => seal(tx, body(r)));
      }),
  });
