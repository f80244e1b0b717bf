import { z } from 'zod';
import { FILES_DEFAULTS } from '../../config.ts';
import type { Repositories } from '../../db/database.ts';
import { ERRORS } from '../../errors.ts';
import { defineTask } from '../../tasks/define-task.ts';
import { recoverFiles } from '../files/recover-files.ts';
import { applyInstanceSettings } from '../instance-settings.ts';
import { restoreSettled, restoreStarted } from '../lifecycle.ts';
import { trustedSidecar } from '../recover-apps.ts';
import { type TaskDeps, withDevice } from '../task-deps.ts';

// A RecoverAndroidInstance instance task: a whole-instance backup onto the same or a compatible
// instance, with RecoveryFile's guarantees (verify everything, stage, then apply each app and the
// shared storage behind the fence), then the saved settings. Alibaba restarts the instance after
// such a restore; this does not: every setting it carries is one the framework applies as it
// changes (a settings observer), and each restored app was stopped by its install, so a restart
// would only cost the phone's users their session (docs/instance-backups.md).

export const recoverInstanceParams = z.strictObject({ backupFileId: z.string().min(1) });

export const recoverInstanceTask = defineTask({
  type: 'RecoverAndroidInstance',
  params: recoverInstanceParams,
  retry: { maxAttempts: 3 },
  onClaimed: (tx: Repositories, task, p) => restoreStarted(tx, task, p.backupFileId),
  async run(deps: TaskDeps, task, p, ctx) {
    const target = await deps.db.instances.get(task.account, task.instanceId ?? '');
    if (!target) throw ERRORS.instanceNotFound(task.instanceId ?? '');
    const file = await deps.db.backupFiles.get(task.account, p.backupFileId);
    if (!file) throw ERRORS.backupFileNotFound(p.backupFileId);
    if (file.status !== 'RECOVERING') throw ERRORS.backupFileInUse(file.id, file.status);
    const store = deps.storeFor(file.endpoint);
    return withDevice(deps, target, task.id, ctx.signal, async (device, facts) => {
      const roots = deps.files?.allowedRoots ?? FILES_DEFAULTS.allowedRoots;
      const job = { bucket: file.bucket, key: file.objectKey, target: facts, recorded: file, roots };
      const restored = await recoverFiles(job, device, store, ctx);
      // the same manifest recoverFiles verified: the sidecar is checked against the recorded digest again
      const { manifest } = await trustedSidecar(store, job);
      await ctx.fence();
      const settings = manifest.settings ? await applyInstanceSettings(device, manifest.settings) : [];
      return { ...restored, settings };
    });
  },
  onSettled: (tx: Repositories, task, p) => restoreSettled(tx, task, p.backupFileId),
});
