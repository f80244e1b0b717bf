import { z } from 'zod';
import { isPackageName } from '../../android/names.ts';
import type { Repositories } from '../../db/database.ts';
import { ERRORS } from '../../errors.ts';
import { defineTask } from '../../tasks/define-task.ts';
import { backupApps } from '../backup-apps.ts';
import { backupSettled, backupStarted } from '../lifecycle.ts';
import { sidecarKey } from '../sidecar.ts';
import { liftOwn, suspensionLedger } from '../suspensions.ts';
import { type TaskDeps, withDevice } from '../task-deps.ts';
import { discardFailedBackup } from './discard-failed-backup.ts';

// A BackupApp instance task: the instance and the backup file are BACKUPING from its claim; the
// file becomes AVAILABLE, with its size, digest and manifest, in the transaction that settles the
// task Finished (lifecycle.ts), so a client that saw the task finish finds the file ready, and
// neither a crash nor a stale run can separate the two. Re-running is safe: a run starts by
// removing whatever an earlier attempt stored, and a stale attempt cannot publish (ctx.fence).

export const backupAppParams = z.strictObject({
  backupFileId: z.string().min(1),
  packages: z.array(z.string().refine(isPackageName, 'expected a package name')).min(1),
});
export type BackupAppParams = z.infer<typeof backupAppParams>;

export const backupAppTask = defineTask({
  type: 'BackupApp',
  params: backupAppParams,
  retry: { maxAttempts: 3 },
  onClaimed: (tx: Repositories, task, p) => backupStarted(tx, task, p.backupFileId),
  async run(deps: TaskDeps, task, p, ctx) {
    const instance = await deps.db.instances.get(task.account, task.instanceId ?? '');
    if (!instance) throw ERRORS.instanceNotFound(task.instanceId ?? '');
    const file = await deps.db.backupFiles.get(task.account, p.backupFileId);
    if (!file) throw ERRORS.backupFileNotFound(p.backupFileId);
    if (file.status !== 'BACKUPING') throw ERRORS.backupFileInUse(file.id, file.status);
    const store = deps.storeFor(file.endpoint);
    // a run that a dead worker left behind may have stored part of this backup: start clean
    await store.delete(file.bucket, sidecarKey(file.objectKey));
    await store.delete(file.bucket, file.objectKey);
    try {
      return await withDevice(deps, instance, task.id, ctx.signal, async (device, facts) => {
        const job = {
          backupFileId: file.id,
          instance: facts,
          packages: p.packages,
          bucket: file.bucket,
          key: file.objectKey,
          requireSuspension: deps.backup.requireSuspension,
          suspensions: suspensionLedger(deps, instance.id, task.id),
        };
        const { size, sha256, sourceBytes, warnings, manifest } = await backupApps(job, device, store, ctx);
        return { objectKey: file.objectKey, size, sha256, sourceBytes, warnings, manifest };
      });
    } finally {
      // what the run suspended and could not resume (its connection was cut) stays recorded if this fails too
      await liftOwn(deps, instance, task.id).catch(() => {});
    }
  },
  result: ({ manifest: _, ...shown }) => shown,
  onSettled: (tx: Repositories, task, p, value) => backupSettled(tx, task, p.backupFileId, value),
  afterSettled: (deps: TaskDeps, task, p) => discardFailedBackup(deps, task, p.backupFileId),
});
