import { z } from 'zod';
import { isPackageName } from '../../android/names.ts';
import { FILES_DEFAULTS } from '../../config.ts';
import type { Repositories } from '../../db/database.ts';
import { defineTask } from '../../tasks/define-task.ts';
import { backupFiles } from '../files/backup-files.ts';
import { backupSettled, backupStarted } from '../lifecycle.ts';
import type { TaskDeps } from '../task-deps.ts';
import { runBackup } from './backup-run.ts';
import { discardFailedBackup } from './discard-failed-backup.ts';

// A BackupFile instance task: like BackupApp's (backup-app-task.ts), the instance and the file are
// BACKUPING from its claim and the file becomes AVAILABLE, or PART_BACKUP_FINISHED when some of
// what the request named could not be backed up, in the transaction that settles it Finished
// (lifecycle.ts). Its Result lists those items with their reasons. Re-running starts clean.

const absolute = z.string().startsWith('/').max(4096);

export const backupFileParams = z.strictObject({
  backupFileId: z.string().min(1),
  /** normalised by the request (src/backup/files/source-paths.ts), checked again on the phone */
  paths: z.array(absolute).max(100),
  excludes: z.array(z.array(z.string().max(4096)).max(100)).max(100),
  packages: z.array(z.string().refine(isPackageName, 'expected a package name')).max(100),
});
export type BackupFileParams = z.infer<typeof backupFileParams>;

export const backupFileTask = defineTask({
  type: 'BackupFile',
  params: backupFileParams,
  retry: { maxAttempts: 3 },
  onClaimed: (tx: Repositories, task, p) => backupStarted(tx, task, p.backupFileId),
  run: (deps: TaskDeps, task, p, ctx) =>
    runBackup(deps, task, p.backupFileId, ctx, async (device, base, store, file) => {
      const roots = deps.files?.allowedRoots ?? FILES_DEFAULTS.allowedRoots;
      const job = { ...base, packages: p.packages, paths: p.paths, excludes: p.excludes, allowedRoots: roots };
      const { size, sha256, sourceBytes, warnings, manifest, failed } = await backupFiles(job, device, store, ctx);
      return { objectKey: file.objectKey, size, sha256, sourceBytes, warnings, failed, manifest };
    }),
  result: ({ manifest: _, ...shown }) => shown,
  onSettled: (tx: Repositories, task, p, value) => backupSettled(tx, task, p.backupFileId, value),
  afterSettled: (deps: TaskDeps, task, p) => discardFailedBackup(deps, task, p.backupFileId),
});
