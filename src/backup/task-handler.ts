import type { Task } from '../db/tasks-repo.ts';
import type { TaskContext, TaskHandler } from '../tasks/task-queue.ts';
import { runBackupTask } from './run-backup-task.ts';
import { runRecoverTask } from './run-recover-task.ts';
import { sidecarKey } from './sidecar.ts';
import type { TaskDeps } from './task-deps.ts';

export function taskHandler(deps: TaskDeps): TaskHandler {
  return (task: Task, ctx: TaskContext) => {
    switch (task.type) {
      case 'BackupApp':
        return runBackupTask(deps, task, ctx);
      case 'RecoverApp':
        return runRecoverTask(deps, task, ctx);
      default: {
        const never: never = task.type;
        throw new Error(`unknown task type ${never}`);
      }
    }
  };
}

/** Records a failed task on its instance and backup file; also runs for tasks whose worker died. */
export async function settleFailedTask(deps: TaskDeps, task: Task): Promise<void> {
  if (task.status !== 'Failed' || task.level !== 2 || !task.instanceId) return;
  const param = JSON.parse(task.param) as { backupFileId: string };
  const backup = task.type === 'BackupApp';
  await deps.db.instances.setStatus(task.instanceId, backup ? 'BACKUP_FAILED' : 'RECOVER_FAILED', {
    errorCode: task.errorCode ?? 'InternalError',
  });
  const file = await deps.db.backupFiles.update(
    task.account,
    param.backupFileId,
    { status: backup ? 'BACKUP_FAILED' : 'RECOVERY_FAILED' },
    { expectStatus: [backup ? 'BACKUPING' : 'RECOVERING'] },
  );
  if (backup && file) {
    // whatever a failed backup stored is not a usable archive: never leave it looking like one
    const store = deps.storeFor(file.endpoint);
    await store.delete(file.bucket, sidecarKey(file.objectKey));
    await store.delete(file.bucket, file.objectKey);
  }
}
