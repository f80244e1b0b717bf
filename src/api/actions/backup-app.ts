import { PACKAGE_NAME } from '../../android/names.ts';
import { type BackupItem, requestBackup } from '../../backup/request-backup.ts';
import type { ServiceDeps } from '../../backup/service-deps.ts';
import { defineAction, param } from '../action.ts';
import { CLIENT_TOKEN, idempotent } from '../client-token.ts';
import { INSTANCE_ID } from '../format.ts';
import { assertTaskRoom } from './task-cap.ts';

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
      ClientToken: CLIENT_TOKEN,
    },
    handle: (p, ctx) =>
      idempotent(deps.db, ctx, 'BackupApp', p, async (seal) => {
        const req = {
          instanceIds: p.AndroidInstanceIdList,
          packages: p.SourceAppList,
          path: p.BackupFilePath,
          endpoint: p.UploadEndpoint,
          name: p.BackupFileName,
          description: p.Description,
        };
        await assertTaskRoom(deps.db.kysely, ctx.account, p.AndroidInstanceIdList, deps.maxPendingTasks);
        await requestBackup(deps, ctx.account, req, ctx.requestId, (tx, r) => seal(tx, body(r)));
      }),
  });
