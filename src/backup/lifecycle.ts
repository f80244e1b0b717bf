import { RESTORABLE_STATUSES, restingStatus } from '../db/backup-files-repo.ts';
import type { Repositories } from '../db/database.ts';
import type { Task } from '../db/tasks-repo.ts';
import type { Manifest } from './archive/manifest.ts';

// The one home of what a task's start and end mean for its instance and backup file. These run
// inside the transaction that claims or settles the task (TaskStore, through the task
// definitions in ./tasks/), so the task's status and these commit together or not at all: a
// crash can never leave a phone BACKUPING with no task, nor a backup AVAILABLE whose task did
// not finish. A backup file is "in use" while any unsettled task reads or writes it, so it only
// leaves RECOVERING when the last restore from it settles (DeleteBackupFile refuses RECOVERING
// files). Status vocabularies: src/db/instances-repo.ts, src/db/backup-files-repo.ts.

/** what a finished backup run stored, committed with AVAILABLE */
export interface StoredBackup {
  size: number;
  sha256: string;
  manifest: Manifest;
  /** the packages it holds, when the request could not name them (a whole-instance backup) */
  apps?: string[];
}

export async function backupStarted(tx: Repositories, task: Task, backupFileId: string): Promise<void> {
  if (!task.instanceId) return;
  await tx.instances.setStatus(task.instanceId, 'BACKUPING', { rate: 0 });
  await tx.backupFiles.update(task.account, backupFileId, { status: 'BACKUPING' });
}

export async function backupSettled(
  tx: Repositories,
  task: Task,
  backupFileId: string,
  stored: StoredBackup | undefined,
): Promise<void> {
  if (!task.instanceId) return;
  // a Finished task always carries what it stored; without it (never expected) the file cannot be AVAILABLE.
  // A BackupFile that could not hold some of what it was asked for is PART_BACKUP_FINISHED
  if (task.status === 'Finished' && stored) {
    const { size, sha256, manifest } = stored;
    // a whole-instance backup learns its apps on the phone: they are recorded now
    const apps = stored.apps ? { apps: stored.apps } : {};
    const patch = { status: restingStatus(manifest), size, sha256, manifest: JSON.stringify(manifest), ...apps };
    await tx.backupFiles.update(task.account, backupFileId, patch, { expectStatus: ['BACKUPING'] });
    await tx.instances.setStatus(task.instanceId, 'RUNNING', { rate: 100 });
    return;
  }
  await tx.backupFiles.update(task.account, backupFileId, { status: 'BACKUP_FAILED' }, { expectStatus: ['BACKUPING'] });
  if (await ranAndPhoneIdle(tx, task)) {
    await tx.instances.setStatus(task.instanceId, 'BACKUP_FAILED', { errorCode: errorCodeOf(task) });
  }
}

/** the file becomes RECOVERING only from a restorable status; the run refuses any other */
export async function restoreStarted(tx: Repositories, task: Task, backupFileId: string): Promise<void> {
  if (!task.instanceId) return;
  await tx.instances.setStatus(task.instanceId, 'RECOVERING', { rate: 0 });
  await tx.backupFiles.update(
    task.account,
    backupFileId,
    { status: 'RECOVERING' },
    { expectStatus: [...RESTORABLE_STATUSES, 'RECOVERING'] },
  );
}

export async function restoreSettled(tx: Repositories, task: Task, backupFileId: string): Promise<void> {
  if (!task.instanceId) return;
  const finished = task.status === 'Finished';
  if (await ranAndPhoneIdle(tx, task)) {
    await tx.instances.setStatus(
      task.instanceId,
      finished ? 'RUNNING' : 'RECOVER_FAILED',
      finished ? { rate: 100 } : { errorCode: errorCodeOf(task) },
    );
  }
  if ((await tx.tasks.unsettledRestoresOf(backupFileId, task.id)) > 0) return;
  // only a failure of the file itself marks it: a phone that went away, a compatibility refusal
  // or a cancel says nothing about the archive (and which target settles last is timing)
  const failed = !finished && FILE_FAULTS.has(task.errorCode ?? '');
  const file = await tx.backupFiles.get(task.account, backupFileId);
  await tx.backupFiles.update(
    task.account,
    backupFileId,
    { status: failed ? 'RECOVERY_FAILED' : restingStatus(file?.manifest ?? null) },
    { expectStatus: ['RECOVERING'] },
  );
}

const errorCodeOf = (task: Task) => task.errorCode ?? 'InternalError';

/** the codes of a restore that failed because of the backup file itself (src/errors.ts) */
const FILE_FAULTS = new Set(['BackupFileCorrupted', 'UnsafeBackupEntry', 'ObjectNotFound']);

/**
 * The instance's status is its running task's, then its last run's: a task cancelled before it
 * ever ran leaves it alone, and so does any task settling while another one runs on the phone.
 */
async function ranAndPhoneIdle(tx: Repositories, task: Task): Promise<boolean> {
  if (task.attempts === 0 || !task.instanceId) return false;
  return (await tx.tasks.processingOn(task.instanceId)) === null;
}
