import { z } from 'zod';
import { SHARED_APP_FOLDERS, SHARED_STORAGE } from '../../android/layout.ts';
import { FILES_DEFAULTS } from '../../config.ts';
import type { Repositories } from '../../db/database.ts';
import { defineTask } from '../../tasks/define-task.ts';
import { backupFiles } from '../files/backup-files.ts';
import { readInstanceSettings } from '../instance-settings.ts';
import { backupSettled, backupStarted } from '../lifecycle.ts';
import type { TaskDeps } from '../task-deps.ts';
import { runBackup } from './backup-run.ts';
import { discardFailedBackup } from './discard-failed-backup.ts';

// A BackupAndroidInstance instance task: a whole-instance backup in BackupFile's archive format,
// holding every third-party app installed for user 0 (all its parts and runtime grants), user 0's
// shared storage (/data/media/0 without Android/data|obb|media, which are the apps' own parts)
// and the settings an app restore cannot carry (instance-settings.ts). The apps are listed on the
// phone when the task runs, so a re-run backs up what is installed then. Lifecycle as BackupApp's.

export const backupInstanceParams = z.strictObject({ backupFileId: z.string().min(1) });

export const backupInstanceTask = defineTask({
  type: 'BackupAndroidInstance',
  params: backupInstanceParams,
  retry: { maxAttempts: 3 },
  onClaimed: (tx: Repositories, task, p) => backupStarted(tx, task, p.backupFileId),
  run: (deps: TaskDeps, task, p, ctx) =>
    runBackup(deps, task, p.backupFileId, ctx, async (device, base, store, file) => {
      const job = {
        ...base,
        packages: await device.listPackages({ thirdParty: true }),
        paths: [SHARED_STORAGE],
        excludes: [SHARED_APP_FOLDERS],
        allowedRoots: deps.files?.allowedRoots ?? FILES_DEFAULTS.allowedRoots,
        settings: await readInstanceSettings(device),
      };
      const { size, sha256, sourceBytes, warnings, manifest, failed } = await backupFiles(job, device, store, ctx);
      const apps = manifest.apps.map((a) => a.package);
      return { objectKey: file.objectKey, size, sha256, sourceBytes, apps, warnings, failed, manifest };
    }),
  result: ({ manifest: _, ...shown }) => shown,
  onSettled: (tx: Repositories, task, p, value) => backupSettled(tx, task, p.backupFileId, value),
  afterSettled: (deps: TaskDeps, task, p) => discardFailedBackup(deps, task, p.backupFileId),
});
