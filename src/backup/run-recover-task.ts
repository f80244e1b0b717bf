import type { Task } from '../db/tasks-repo.ts';
import { ERRORS } from '../errors.ts';
import type { TaskContext } from '../tasks/task-queue.ts';
import { readInstanceFacts } from './instance-facts.ts';
import { recoverApps } from './recover-apps.ts';
import { type RecoverTaskParam, type TaskDeps, withDevice } from './task-deps.ts';

// A RecoverApp instance task: the target is RECOVERING and the backup file RECOVERING while
// it runs; what its outcome means for both commits with it (lifecycle.ts).

export async function runRecoverTask(deps: TaskDeps, task: Task, ctx: TaskContext) {
  const param = JSON.parse(task.param) as RecoverTaskParam;
  const target = await deps.db.instances.get(task.account, task.instanceId ?? '');
  if (!target) throw ERRORS.instanceNotFound(task.instanceId ?? '');
  const file = await deps.db.backupFiles.update(
    task.account,
    param.backupFileId,
    { status: 'RECOVERING' },
    { expectStatus: ['AVAILABLE', 'RECOVERING', 'RECOVERY_FAILED'] },
  );
  if (!file) throw ERRORS.backupFileNotFound(param.backupFileId);
  await deps.db.instances.setStatus(target.id, 'RECOVERING', { rate: 0 });
  return withDevice(deps, target, ctx.signal, async (device) => {
    const facts = await readInstanceFacts(target, device);
    const job = { bucket: file.bucket, key: file.objectKey, target: facts, recorded: file };
    return recoverApps(job, device, deps.storeFor(file.endpoint), ctx);
  });
}
