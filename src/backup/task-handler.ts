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

/**
 * After a failed backup task has settled (its statuses committed with it, lifecycle.ts): whatever
 * it stored is not a usable archive, so it is removed. Also runs for tasks whose worker died.
 */
export async function cleanUpFailedTask(deps: TaskDeps, task: Task): Promise<void> {
  if (task.status !== 'Failed' || task.level !== 2 || task.type !== 'BackupApp') return;
  const param = JSON.parse(task.param) as { backupFileId: string };
  const file = await deps.db.backupFiles.get(task.account, param.backupFileId);
  if (file?.status !== 'BACKUP_FAILED') return;
  const store = deps.storeFor(file.endpoint);
  await store.delete(file.bucket, sidecarKey(file.objectKey));
  await store.delete(file.bucket, file.objectKey);
}
