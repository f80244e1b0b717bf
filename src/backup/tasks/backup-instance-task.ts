import { z } from 'zod';
import { SHARED_APP_FOLDERS, SHARED_STORAGE } from '../../android/layout.ts';
import { FILES_DEFAULTS } from '../../config.ts';
import type { Repositories } from '../../db/database.ts';
import { ERRORS } from '../../errors.ts';
import { defineTask } from '../../tasks/define-task.ts';
import { backupFiles } from '../files/backup-files.ts';
import { readInstanceSettings } from '../instance-settings.ts';
import { backupSettled, backupStarted } from '../lifecycle.ts';
import { sidecarKey } from '../sidecar.ts';
import { liftOwn, suspensionLedger } from '../suspensions.ts';
import { type TaskDeps, withDevice } from '../task-deps.ts';
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
  async run(deps: TaskDeps, task, p, ctx) {
    const instance = await deps.db.instances.get(task.account, task.instanceId ?? '');
    if (!instance) throw ERRORS.instanceNotFound(task.instanceId ?? '');
    const file = await deps.db.backupFiles.get(task.account, p.backupFileId);
    if (!file) throw ERRORS.backupFileNotFound(p.backupFileId);
    if (file.status !== 'BACKUPING') throw ERRORS.backupFileInUse(file.id, file.status);
    const store = deps.storeFor(file.endpoint);
    await store.delete(file.bucket, sidecarKey(file.objectKey));
    await store.delete(file.bucket, file.objectKey);
    try {
      return await withDevice(deps, instance, task.id, ctx.signal, async (device, facts) => {
        const job = {
          backupFileId: file.id,
          instance: facts,
          packages: await device.listPackages({ thirdParty: true }),
          paths: [SHARED_STORAGE],
          excludes: [SHARED_APP_FOLDERS],
          allowedRoots: deps.files?.allowedRoots ?? FILES_DEFAULTS.allowedRoots,
          settings: await readInstanceSettings(device),
          bucket: file.bucket,
          key: file.objectKey,
          requireSuspension: deps.backup.requireSuspension,
          suspensions: suspensionLedger(deps, instance.id, task.id),
        };
        const { size, sha256, sourceBytes, warnings, manifest, failed } = await backupFiles(job, device, store, ctx);
        const apps = manifest.apps.map((a) => a.package);
        return { objectKey: file.objectKey, size, sha256, sourceBytes, apps, warnings, failed, manifest };
      });
    } finally {
      await liftOwn(deps, instance, task.id).catch(() => {});
    }
  },
  result: ({ manifest: _, ...shown }) => shown,
  onSettled: (tx: Repositories, task, p, value) => backupSettled(tx, task, p.backupFileId, value),
  afterSettled: (deps: TaskDeps, task, p) => discardFailedBackup(deps, task, p.backupFileId),
});
