import { RESTORABLE_STATUSES } from '../db/backup-files-repo.ts';
import { ERRORS } from '../errors.ts';
import { assertEndpoint, objectUrl } from '../storage/object-key.ts';
import { loadInstances, type OnCreated } from './request-backup.ts';
import type { ServiceDeps } from './service-deps.ts';
import type { RecoverAppParams } from './tasks/recover-app-task.ts';

// RecoverApp's synchronous part: the backup file must exist in the caller's account, be a
// complete archive, and match the path and endpoint the caller named; each target must exist.
// Compatibility is checked per target by its task, before the target is touched.

export interface RecoverRequest {
  backupFileId: string;
  instanceIds: string[];
  path?: string;
  endpoint?: string;
}

export interface RecoverItem {
  instanceId: string;
  taskId: string;
}

export async function requestRecover(
  deps: ServiceDeps,
  account: string,
  req: RecoverRequest,
  invokeId: string,
  onCreated?: OnCreated<{ taskId: string; items: RecoverItem[] }>,
) {
  const file = await deps.db.backupFiles.get(account, req.backupFileId);
  if (!file) throw ERRORS.backupFileNotFound(req.backupFileId);
  if (!RESTORABLE_STATUSES.includes(file.status)) throw ERRORS.backupFileInUse(file.id, file.status);
  if (file.apps.length === 0) {
    throw ERRORS.invalidParameter('BackupFileId', `backup file ${file.id} holds no apps: restore it with RecoveryFile`);
  }
  if (req.path !== undefined && req.path !== objectUrl(file.bucket, file.objectKey) && req.path !== file.path) {
    throw ERRORS.invalidParameter(
      'BackupFilePath',
      `backup file ${file.id} is stored at ${objectUrl(file.bucket, file.objectKey)}`,
    );
  }
  if (req.endpoint !== undefined && assertEndpoint(req.endpoint) !== file.endpoint) {
    throw ERRORS.invalidParameter('UploadEndpoint', `backup file ${file.id} is stored behind ${file.endpoint}`);
  }
  const targets = await loadInstances(deps, account, req.instanceIds, 'AndroidInstanceIdList');
  const param: RecoverAppParams = { backupFileId: file.id };
  const created = await deps.db.transaction(async (tx) => {
    const { batch, children } = await tx.tasks.createBatch(account, {
      type: 'RecoverApp',
      invokeId,
      param: { BackupFileId: file.id, AndroidInstanceIdList: req.instanceIds, UploadType: 'OSS' },
      resourceId: file.id,
      children: targets.map((t) => ({ instanceId: t.id, instanceName: t.name, param })),
    });
    const result = {
      taskId: batch.id,
      items: children.map((c) => ({ instanceId: c.instanceId as string, taskId: c.id })),
    };
    await onCreated?.(tx, result);
    return result;
  });
  deps.notifyTasks();
  return created;
}
