import type { Repositories } from '../db/database.ts';
import { newId } from '../db/ids.ts';
import type { Instance } from '../db/instances-repo.ts';
import { ERRORS } from '../errors.ts';
import { assertEndpoint, joinKey, parseOssUrl } from '../storage/object-key.ts';
import type { ServiceDeps } from './service-deps.ts';
import type { BackupAppParams } from './tasks/backup-app-task.ts';

// BackupApp's synchronous part: every check that can fail the whole call happens here, before
// anything is written; then one transaction creates a backup file and a task per instance.

export interface BackupRequest {
  instanceIds: string[];
  packages: string[];
  path: string;
  endpoint: string;
  name?: string;
  description?: string;
}

export interface BackupItem {
  instanceId: string;
  backupFileId: string;
  backupFileName: string;
  taskId: string;
}

export async function loadInstances(deps: ServiceDeps, account: string, ids: string[], param: string) {
  if (new Set(ids).size !== ids.length) throw ERRORS.invalidParameter(param, 'an instance is listed twice');
  const found: Instance[] = [];
  for (const id of ids) {
    // another account's instance is reported exactly like a missing one
    const instance = await deps.db.instances.get(account, id);
    if (!instance) throw ERRORS.instanceNotFound(id);
    found.push(instance);
  }
  return found;
}

/** what a request created, handed to its caller inside the creating transaction (ClientToken's seal) */
export type OnCreated<T> = (tx: Repositories, created: T) => Promise<void>;

export async function requestBackup(
  deps: ServiceDeps,
  account: string,
  req: BackupRequest,
  invokeId: string,
  onCreated?: OnCreated<{ taskId: string; items: BackupItem[] }>,
) {
  const { bucket, prefix } = parseOssUrl(req.path);
  const endpoint = assertEndpoint(req.endpoint);
  deps.storeFor(endpoint); // an endpoint with no store configured fails the call, not the tasks
  const instances = await loadInstances(deps, account, req.instanceIds, 'AndroidInstanceIdList');
  const packages = [...new Set(req.packages)];
  const items = instances.map((instance) => {
    const backupFileId = newId('bf');
    const backupFileName = `${req.name ?? 'backup'}_${instance.id}_${backupFileId.slice(3)}.tar.zst`;
    return { instance, backupFileId, backupFileName, taskId: newId('t'), key: joinKey(prefix, backupFileName) };
  });
  const data: BackupItem[] = items.map((it) => ({
    instanceId: it.instance.id,
    backupFileId: it.backupFileId,
    backupFileName: it.backupFileName,
    taskId: it.taskId,
  }));
  const batch = await deps.db.transaction(async (tx) => {
    for (const it of items) {
      await tx.backupFiles.create({
        id: it.backupFileId,
        account,
        instanceId: it.instance.id,
        instanceName: it.instance.name,
        // as the source is now: DescribeBackupFiles filters them as they were when the backup was made
        instanceGroupId: it.instance.instanceGroupId,
        endUserId: it.instance.endUserId,
        name: it.backupFileName,
        description: req.description ?? '',
        path: req.path,
        endpoint,
        bucket,
        objectKey: it.key,
        apps: packages,
        taskId: it.taskId,
      });
    }
    const children = items.map((it) => {
      const param: BackupAppParams = { backupFileId: it.backupFileId, packages };
      return { id: it.taskId, instanceId: it.instance.id, instanceName: it.instance.name, param };
    });
    // the batch's Param, as DescribeTasks shows it, in the API's own names
    const param = {
      AndroidInstanceIdList: req.instanceIds,
      SourceAppList: packages,
      BackupFilePath: req.path,
      UploadEndpoint: endpoint,
      BackupFileName: req.name,
      Description: req.description,
    };
    const created = await tx.tasks.createBatch(account, { type: 'BackupApp', invokeId, param, children });
    await onCreated?.(tx, { taskId: created.batch.id, items: data });
    return created;
  });
  deps.notifyTasks();
  return { taskId: batch.batch.id, items: data };
}
