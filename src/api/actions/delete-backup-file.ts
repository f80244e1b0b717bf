import type { ServiceDeps } from '../../backup/service-deps.ts';
import { sidecarKey } from '../../backup/sidecar.ts';
import type { BackupFileStatus } from '../../db/backup-files-repo.ts';
import { ERRORS } from '../../errors.ts';
import { defineAction, param } from '../action.ts';
import { RESOURCE_ID } from '../format.ts';

// A file in use (being written, restored from, or named by a restore still waiting for its
// phone) is refused; the others are marked DELETING with a compare-and-set, so a restore cannot
// start on a file being deleted, and their objects are removed before their records.

const DELETABLE: BackupFileStatus[] = [
  'AVAILABLE',
  'BACKUP_FAILED',
  'RECOVERY_FAILED',
  'PART_BACKUP_FINISHED',
  'DELETING',
];

export const deleteBackupFile = (deps: ServiceDeps) =>
  defineAction({
    name: 'DeleteBackupFile',
    params: {
      BackupFileIdList: param.stringList({ required: true }, { pattern: RESOURCE_ID }),
    },
    async handle(p, ctx) {
      const ids = [...new Set(p.BackupFileIdList)];
      for (const id of ids) {
        const file = await deps.db.backupFiles.get(ctx.account, id);
        if (!file) throw ERRORS.backupFileNotFound(id);
        if (!DELETABLE.includes(file.status)) throw ERRORS.backupFileInUse(id, file.status);
        // a restore still waiting for its phone has not made the file RECOVERING yet, but will read it
        if ((await deps.db.tasks.unsettledRestoresOf(id, '')) > 0) throw ERRORS.backupFileInUse(id, 'to be restored');
      }
      for (const id of ids) {
        const file = await deps.db.backupFiles.update(
          ctx.account,
          id,
          { status: 'DELETING' },
          { expectStatus: DELETABLE },
        );
        if (!file) throw ERRORS.backupFileInUse(id, 'in use');
        const store = deps.storeFor(file.endpoint);
        await store.delete(file.bucket, sidecarKey(file.objectKey));
        await store.delete(file.bucket, file.objectKey);
        await deps.db.backupFiles.delete(ctx.account, id);
      }
      return {};
    },
  });
