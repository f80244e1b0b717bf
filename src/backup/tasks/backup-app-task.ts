import { z } from 'zod';
import { isPackageName } from '../../android/names.ts';
import type { Repositories } from '../../db/database.ts';
import { defineTask } from '../../tasks/define-task.ts';
import { backupApps } from '../backup-apps.ts';
import { backupSettled, backupStarted } from '../lifecycle.ts';
import type { TaskDeps } from '../task-deps.ts';
import { runBackup } from './backup-run.ts';
import { discardFailedBackup } from './discard-failed-backup.ts';

// A BackupApp instance task: the instance and the backup file are BACKUPING from its claim; the
// file becomes AVAILABLE, with its size, digest and manifest, in the transaction that settles the
// task Finished (lifecycle.ts), so a client that saw the task finish finds the file ready, and
// neither a crash nor a stale run can separate the two. Re-running is safe: a run starts by
// removing whatever an earlier attempt stored, and a stale attempt cannot publish (ctx.fence).

export const backupAppParams = z.strictObject({
  backupFileId: z.string().min(1),
  packages: z.array(z.string().refine(isPackageName, 'expected a package name')).min(1),
});
export type BackupAppParams = z.infer<typeof backupAppParams>;

export const backupAppTask = defineTask({
  type: 'BackupApp',
  params: backupAppParams,
  retry: { maxAttempts: 3 },
  onClaimed: (tx: Repositories, task, p) => backupStarted(tx, task, p.backupFileId),
  run: (deps: TaskDeps, task, p, ctx) =>
    runBackup(deps, task, p.backupFileId, ctx, async (device, base, store, file) => {
      const job = { ...base, packages: p.packages };
      const { size, sha256, sourceBytes, warnings, manifest } = await backupApps(job, device, store, ctx);
      return { objectKey: file.objectKey, size, sha256, sourceBytes, warnings, manifest };
    }),
  result: ({ manifest: _, ...shown }) => shown,
  onSettled: (tx: Repositories, task, p, value) => backupSettled(tx, task, p.backupFileId, value),
  afterSettled: (deps: TaskDeps, task, p) => discardFailedBackup(deps, task, p.backupFileId),
});
