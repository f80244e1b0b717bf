import { z } from 'zod';
import type { Repositories } from '../../db/database.ts';
import { ERRORS } from '../../errors.ts';
import { defineTask } from '../../tasks/define-task.ts';
import { restoreSettled, restoreStarted } from '../lifecycle.ts';
import { recoverApps } from '../recover-apps.ts';
import { type TaskDeps, withDevice } from '../task-deps.ts';

// A RecoverApp instance task: the target and the backup file are RECOVERING from its claim; what
// its outcome means for both commits with it (lifecycle.ts). Re-running is safe: the restore
// verifies and stages from scratch and only then swaps the app in (restore/apply-app.ts).

export const recoverAppParams = z.strictObject({ backupFileId: z.string().min(1) });
export type RecoverAppParams = z.infer<typeof recoverAppParams>;

export const recoverAppTask = defineTask({
  type: 'RecoverApp',
  params: recoverAppParams,
  retry: { maxAttempts: 3 },
  onClaimed: (tx: Repositories, task, p) => restoreStarted(tx, task, p.backupFileId),
  async run(deps: TaskDeps, task, p, ctx) {
    const target = await deps.db.instances.get(task.account, task.instanceId ?? '');
    if (!target) throw ERRORS.instanceNotFound(task.instanceId ?? '');
    const file = await deps.db.backupFiles.get(task.account, p.backupFileId);
    if (!file) throw ERRORS.backupFileNotFound(p.backupFileId);
    // the claim made it RECOVERING unless it was not restorable (being written, failed, deleting)
    if (file.status !== 'RECOVERING') throw ERRORS.backupFileInUse(file.id, file.status);
    return withDevice(deps, target, task.id, ctx.signal, async (device, facts) => {
      const job = { bucket: file.bucket, key: file.objectKey, target: facts, recorded: file };
      return recoverApps(job, device, deps.storeFor(file.endpoint), ctx);
    });
  },
  onSettled: (tx: Repositories, task, p) => restoreSettled(tx, task, p.backupFileId),
});
