import type { Task } from '../db/tasks-repo.ts';
import { ERRORS } from '../errors.ts';
import type { TaskContext } from '../tasks/task-queue.ts';
import { backupApps } from './backup-apps.ts';
import { readInstanceFacts } from './instance-facts.ts';
import { sidecarKey } from './sidecar.ts';
import { type BackupTaskParam, type TaskDeps, withDevice } from './task-deps.ts';

// A BackupApp instance task: the instance and the backup file are BACKUPING while it runs; the
// file becomes AVAILABLE in the transaction that settles the task Finished (lifecycle.ts), so a
// client that saw the task finish finds the file ready, and a crash cannot separate the two.

export async function runBackupTask(deps: TaskDeps, task: Task, ctx: TaskContext) {
  const param = JSON.parse(task.param) as BackupTaskParam;
  const instance = await deps.db.instances.get(task.account, task.instanceId ?? '');
  if (!instance) throw ERRORS.instanceNotFound(task.instanceId ?? '');
  const file = await deps.db.backupFiles.get(task.account, param.backupFileId);
  if (!file) throw ERRORS.backupFileNotFound(param.backupFileId);
  await deps.db.instances.setStatus(instance.id, 'BACKUPING', { rate: 0 });
  await deps.db.backupFiles.update(task.account, file.id, { status: 'BACKUPING' });
  const store = deps.storeFor(file.endpoint);
  // a run that a dead worker left behind may have stored part of this backup: start clean
  await store.delete(file.bucket, sidecarKey(file.objectKey));
  await store.delete(file.bucket, file.objectKey);
  return withDevice(deps, instance, ctx.signal, async (device) => {
    const facts = await readInstanceFacts(instance, device);
    const job = {
      backupFileId: file.id,
      instance: facts,
      packages: param.packages,
      bucket: file.bucket,
      key: file.objectKey,
      requireSuspension: deps.backup.requireSuspension,
    };
    const result = await backupApps(job, device, store, ctx);
    // AVAILABLE (and the instance back to RUNNING) commits with the task's outcome (lifecycle.ts)
    await deps.db.backupFiles.update(
      task.account,
      file.id,
      { size: result.size, sha256: result.sha256, manifest: JSON.stringify(result.manifest) },
      { expectStatus: ['BACKUPING'] },
    );
    const { size, sha256, sourceBytes, warnings } = result;
    return { objectKey: file.objectKey, size, sha256, sourceBytes, warnings };
  });
}
