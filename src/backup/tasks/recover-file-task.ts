import { z } from 'zod';
import { FILES_DEFAULTS } from '../../config.ts';
import type { Repositories } from '../../db/database.ts';
import { ERRORS } from '../../errors.ts';
import { defineTask } from '../../tasks/define-task.ts';
import { recoverFiles } from '../files/recover-files.ts';
import { restoreSettled, restoreStarted } from '../lifecycle.ts';
import { type TaskDeps, withDevice } from '../task-deps.ts';

// A RecoveryFile instance task (Alibaba's TaskType RecoverFile): the target and the backup file are
// RECOVERING from its claim, and its end commits with it (lifecycle.ts), as for RecoverApp. Its
// Result is what it put back (apps, paths) and any warnings. Re-running verifies and stages anew.

export const recoverFileParams = z.strictObject({ backupFileId: z.string().min(1) });
export type RecoverFileParams = z.infer<typeof recoverFileParams>;

export const recoverFileTask = defineTask({
  type: 'RecoverFile',
  params: recoverFileParams,
  retry: { maxAttempts: 3 },
  onClaimed: (tx: Repositories, task, p) => restoreStarted(tx, task, p.backupFileId),
  async run(deps: TaskDeps, task, p, ctx) {
    const target = await deps.db.instances.get(task.account, task.instanceId ?? '');
    if (!target) throw ERRORS.instanceNotFound(task.instanceId ?? '');
    const file = await deps.db.backupFiles.get(task.account, p.backupFileId);
    if (!file) throw ERRORS.backupFileNotFound(p.backupFileId);
    if (file.status !== 'RECOVERING') throw ERRORS.backupFileInUse(file.id, file.status);
    return withDevice(deps, target, task.id, ctx.signal, async (device, facts) => {
      const roots = deps.files?.allowedRoots ?? FILES_DEFAULTS.allowedRoots;
      const job = { bucket: file.bucket, key: file.objectKey, target: facts, recorded: file, roots };
      return recoverFiles(job, device, deps.storeFor(file.endpoint), ctx);
    });
  },
  onSettled: (tx: Repositories, task, p) => restoreSettled(tx, task, p.backupFileId),
});
