import { PACKAGE_NAME } from '../../android/names.ts';
import { requestBackupFile } from '../../backup/files/request-backup-file.ts';
import type { BackupItem } from '../../backup/request-backup.ts';
import type { ServiceDeps } from '../../backup/service-deps.ts';
import { ERRORS } from '../../errors.ts';
import { defineAction, param } from '../action.ts';
import { CLIENT_TOKEN, idempotent } from '../client-token.ts';
import { INSTANCE_ID } from '../format.ts';
import { assertTaskRoom } from './task-cap.ts';

// BackupFile (docs/api-models.md): the listed phone paths, and optionally apps, of each instance
// into one archive per instance. Paths are checked by src/backup/files/source-paths.ts.
// BackupAll (a whole-instance backup) is BackupAndroidInstance's here: refused, not half-done.
// UploadEndpoint is optional in the SDK but required here: it names the store (config storage).

const PHONE_PATH = { maxLength: 4096 } as const;

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

export const backupFile = (deps: ServiceDeps) =>
  defineAction({
    name: 'BackupFile',
    params: {
      AndroidInstanceIdList: param.stringList({ required: true }, { pattern: INSTANCE_ID }),
      BackupFilePath: param.string({ required: true }),
      SourceFilePathList: param.stringList({}, PHONE_PATH),
      ExcludeSourceFilePathList: param.stringList({}, PHONE_PATH),
      SourceAppList: param.stringList({}, { pattern: PACKAGE_NAME, maxLength: 255 }),
      BackupAll: param.boolean(),
      UploadType: param.string({ enum: ['OSS'] }),
      UploadEndpoint: param.string({ required: true, maxLength: 253 }),
      BackupFileName: param.string({ pattern: /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/ }),
      Description: param.string({ maxLength: 256 }),
      ClientToken: CLIENT_TOKEN,
    },
    handle: (p, ctx) =>
      idempotent(deps.db, ctx, 'BackupFile', p, async (seal) => {
        if (p.BackupAll === true) {
          throw ERRORS.invalidParameter(
            'BackupAll',
            'a whole-instance backup is BackupAndroidInstance; BackupFile backs up the listed paths and apps',
          );
        }
        const req = {
          instanceIds: p.AndroidInstanceIdList,
          paths: p.SourceFilePathList ?? [],
          excludes: p.ExcludeSourceFilePathList ?? [],
          packages: p.SourceAppList ?? [],
          path: p.BackupFilePath,
          endpoint: p.UploadEndpoint,
          name: p.BackupFileName,
          description: p.Description,
        };
        await assertTaskRoom(deps.db.kysely, ctx.account, p.AndroidInstanceIdList, deps.maxPendingTasks);
        await requestBackupFile(deps, ctx.account, req, ctx.requestId, (tx, r) => seal(tx, body(r)));
      }),
  });
