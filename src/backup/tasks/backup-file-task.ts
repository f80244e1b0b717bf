import { z } from 'zod';
import { isPackageName } from '../../android/names.ts';
import { FILES_DEFAULTS } from '../../config.ts';
import type { Repositories } from '../../db/database.ts';
import { ERRORS } from '../../errors.ts';
import { defineTask } from '../../tasks/define-task.ts';
import { backupFiles } from '../files/backup-files.ts';
import { backupSettled, backupStarted } from '../lifecycle.ts';
import { sidecarKey } from '../sidecar.ts';
import { liftOwn, suspensionLedger } from '../suspensions.ts';
import { type TaskDeps, withDevice } from '../task-deps.ts';
import { discardFailedBackup } from './discard-failed-backup.ts';

// A BackupFile instance task: like BackupApp's (backup-app-task.ts), the instance and the file are
// BACKUPING from its claim and the file becomes AVAILABLE, or PART_BACKUP_FINISHED when some of
// what the request named could not be backed up, in the transaction that settles it Finished
// (lifecycle.ts). Its Result lists those items with their reasons. Re-running starts clean.

const absolute = z.string().startsWith('/').max(4096);

export const backupFileParams = z.strictObject({
  backupFileId: z.string().min(1),
  /** normalised by the request (src/backup/files/source-paths.ts), checked again on the phone */
  paths: z.array(absolute).max(100),
  excludes: z.array(z.array(z.string().max(4096)).max(100)).max(100),
  packages: z.array(z.string().refine(isPackageName, 'expected a package name')).max(100),
});
export type BackupFileParams = z.infer<typeof backupFileParams>;

export const backupFileTask = defineTask({
  type: 'BackupFile',
  params: backupFileParams,
  retry: { maxAttempts: 3 },
  onClaimed: (tx: Repositories, task, p) => backupStarted(tx, task, p.backupFileId),
  async run(deps: TaskDeps, task, p, ctx) {
    const instance = await deps.db.instances.get(task.account, task.instanceId ?? '');
    if (!instance) throw ERRORS.instanceNotFound(task.instanceId ?? '');
    const file = await deps.db.backupFiles.get(task.account, p.backupFileId);
    if (!file) throw ERRORS.backupFileNotFound(p.backupFileId);
    if (file.status !== 'BACKUPING') throw ERRORS.backupFileInUse(file.id, file.status);
    const store = deps.storeFor(file.endpoint);
    await store.delete(file.bucket, sidecarKey(file.objectKey));
    await store.delete(file.bucket, file.objectKey);
    try {
      return await withDevice(deps, instance, task.id, ctx.signal, async (device, facts) => {
        const job = {
          backupFileId: file.id,
          instance: facts,
          packages: p.packages,
          paths: p.paths,
          excludes: p.excludes,
          allowedRoots: deps.files?.allowedRoots ?? FILES_DEFAULTS.allowedRoots,
          bucket: file.bucket,
          key: file.objectKey,
          requireSuspension: deps.backup.requireSuspension,
          suspensions: suspensionLedger(deps, instance.id, task.id),
        };
        const { size, sha256, sourceBytes, warnings, manifest, failed } = await backupFiles(job, device, store, ctx);
        return { objectKey: file.objectKey, size, sha256, sourceBytes, warnings, failed, manifest };
      });
    } finally {
      await liftOwn(deps, instance, task.id).catch(() => {});
    }
  },
  result: ({ manifest: _, ...shown }) => shown,
  onSettled: (tx: Repositories, task, p, value) => backupSettled(tx, task, p.backupFileId, value),
  afterSettled: (deps: TaskDeps, task, p) => discardFailedBackup(deps, task, p.backupFileId),
});
