import type { Task } from '../../db/tasks-repo.ts';
import { sidecarKey } from '../sidecar.ts';
import type { TaskDeps } from '../task-deps.ts';

/**
 * Every backup kind's afterSettled: whatever a failed backup stored is not a usable archive, so it
 * is removed (also for a dead worker's task, which the takeover failed).
 */
export async function discardFailedBackup(deps: TaskDeps, task: Task, backupFileId: string): Promise<void> {
  if (task.status !== 'Failed') return;
  const file = await deps.db.backupFiles.get(task.account, backupFileId);
  if (file?.status !== 'BACKUP_FAILED') return;
  const store = deps.storeFor(file.endpoint);
  await store.delete(file.bucket, sidecarKey(file.objectKey));
  await store.delete(file.bucket, file.objectKey);
}
