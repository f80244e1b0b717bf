import type { BackupFile } from '../../db/backup-files-repo.ts';
import type { Task } from '../../db/tasks-repo.ts';
import type { Device } from '../../devices/device.ts';
import { ERRORS } from '../../errors.ts';
import type { ObjectStore } from '../../storage/object-store.ts';
import type { TaskContext } from '../../tasks/task-queue.ts';
import type { InstanceFacts } from '../archive/manifest.ts';
import { sidecarKey } from '../sidecar.ts';
import { liftOwn, type SuspensionLedger, suspensionLedger } from '../suspensions.ts';
import { type TaskDeps, withDevice } from '../task-deps.ts';

/** what every backup kind's job starts from (backup-apps.ts BackupJob) */
export interface BackupBase {
  backupFileId: string;
  instance: InstanceFacts;
  bucket: string;
  key: string;
  requireSuspension: boolean;
  suspensions: SuspensionLedger;
}

/**
 * Every backup kind's run: the instance and its BACKUPING file, whatever a dead worker's earlier
 * attempt stored removed (a run starts clean), the phone for `work`, and at the end the lifting of
 * what the run suspended and could not resume itself (its connection was cut); if that fails too,
 * it stays recorded for the next task or the reconciler (suspensions.ts).
 */
export async function runBackup<T>(
  deps: TaskDeps,
  task: Task,
  backupFileId: string,
  ctx: TaskContext,
  work: (device: Device, base: BackupBase, store: ObjectStore, file: BackupFile) => Promise<T>,
): Promise<T> {
  const instance = await deps.db.instances.get(task.account, task.instanceId ?? '');
  if (!instance) throw ERRORS.instanceNotFound(task.instanceId ?? '');
  const file = await deps.db.backupFiles.get(task.account, backupFileId);
  if (!file) throw ERRORS.backupFileNotFound(backupFileId);
  if (file.status !== 'BACKUPING') throw ERRORS.backupFileInUse(file.id, file.status);
  const store = deps.storeFor(file.endpoint);
  await store.delete(file.bucket, sidecarKey(file.objectKey));
  await store.delete(file.bucket, file.objectKey);
  try {
    return await withDevice(deps, instance, task.id, ctx.signal, (device, facts) => {
      const base = {
        backupFileId: file.id,
        instance: facts,
        bucket: file.bucket,
        key: file.objectKey,
        requireSuspension: deps.backup.requireSuspension,
        suspensions: suspensionLedger(deps, instance.id, task.id),
      };
      return work(device, base, store, file);
    });
  } finally {
    await liftOwn(deps, instance, task.id).catch(() => {});
  }
}
