import type { BackupItem } from '../../backup/request-backup.ts';
import { requestInstanceBackup } from '../../backup/request-instance-backup.ts';
import type { ServiceDeps } from '../../backup/service-deps.ts';
import { defineAction, param } from '../action.ts';
import { CLIENT_TOKEN, idempotent } from '../client-token.ts';
import { INSTANCE_ID } from '../format.ts';
import { assertTaskRoom } from './task-cap.ts';

// BackupAndroidInstance (docs/api-models.md; docs/instance-backups.md): a whole-instance backup of
// each listed instance: every third-party app, user 0's shared storage and the restorable
// settings, one archive per instance. Unlike Alibaba's, the phone need not be shut down: apps are
// suspended while copied, as for BackupApp. UploadEndpoint is required, as in the SDK.

const body = (r: { taskId: string; items: BackupItem[] }) => ({
  TaskId: r.taskId,
  Count: r.items.length,
  Data: r.items.map((it) => ({
    AndroidInstanceId: it.instanceId,
    BackupFileId: it.backupFileId,
    BackupFileName: it.backupFileName,
    TaskId: it.taskId,
  })),
});

export const backupAndroidInstance = (deps: ServiceDeps) =>
  defineAction({
    name: 'BackupAndroidInstance',
    params: {
      AndroidInstanceIdList: param.stringList({ required: true }, { pattern: INSTANCE_ID }),
      BackupFilePath: param.string({ required: true }),
      UploadEndpoint: param.string({ required: true, maxLength: 253 }),
      BackupFileName: param.string({ pattern: /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/ }),
      Description: param.string({ maxLength: 256 }),
      ClientToken: CLIENT_TOKEN,
    },
    handle: (p, ctx) =>
      idempotent(deps.db, ctx, 'BackupAndroidInstance', p, async (seal) => {
        const req = {
          instanceIds: p.AndroidInstanceIdList,
          path: p.BackupFilePath,
          endpoint: p.UploadEndpoint,
          name: p.BackupFileName,
          description: p.Description,
        };
        await assertTaskRoom(deps.db.kysely, ctx.account, p.AndroidInstanceIdList, deps.maxPendingTasks);
        await requestInstanceBackup(deps, ctx.account, req, ctx.requestId, (tx, r) => seal(tx, body(r)));
      }),
  });
