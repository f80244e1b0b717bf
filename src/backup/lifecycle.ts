import type { Repositories } from '../db/database.ts';
import type { Task } from '../db/tasks-repo.ts';

// The one home of what a settled task means for its instance and backup file. It runs inside
// the transaction that settles the task (TaskStore), so the task's outcome and these status
// changes commit together or not at all: a crash can no longer leave a phone BACKUPING with no
// task. A backup file is "in use" while any unsettled task reads or writes it, so it only leaves
// RECOVERING when the last restore from it settles (DeleteBackupFile refuses RECOVERING files).

export async function applyOutcome(tx: Repositories, task: Task): Promise<void> {
  if (task.level !== 2 || !task.instanceId) return;
  const finished = task.status === 'Finished';
  if (!finished && task.status !== 'Failed') return;
  const { backupFileId } = JSON.parse(task.param) as { backupFileId: string };
  const errorCode = task.errorCode ?? 'InternalError';
  switch (task.type) {
    case 'BackupApp':
      await tx.backupFiles.update(
        task.account,
        backupFileId,
        { status: finished ? 'AVAILABLE' : 'BACKUP_FAILED' },
        { expectStatus: ['BACKUPING'] },
      );
      await tx.instances.setStatus(
        task.instanceId,
        finished ? 'RUNNING' : 'BACKUP_FAILED',
        finished ? { rate: 100 } : { errorCode },
      );
      return;
    case 'RecoverApp':
      await tx.instances.setStatus(
        task.instanceId,
        finished ? 'RUNNING' : 'RECOVER_FAILED',
        finished ? { rate: 100 } : { errorCode },
      );
      if ((await tx.tasks.unsettledRestoresOf(backupFileId, task.id)) > 0) return;
      await tx.backupFiles.update(
        task.account,
        backupFileId,
        { status: finished ? 'AVAILABLE' : 'RECOVERY_FAILED' },
        { expectStatus: ['RECOVERING'] },
      );
      return;
    default: {
      const never: never = task.type;
      throw new Error(`unknown task type ${never}`);
    }
  }
}
