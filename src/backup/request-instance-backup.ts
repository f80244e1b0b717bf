import { SHARED_STORAGE } from '../android/layout.ts';
import type { Repositories } from '../db/database.ts';
import { newId } from '../db/ids.ts';
import { assertEndpoint, joinKey, parseOssUrl } from '../storage/object-key.ts';
import { type BackupItem, loadInstances } from './request-backup.ts';
import type { ServiceDeps } from './service-deps.ts';

// BackupAndroidInstance's synchronous part: the endpoint and the instances are checked, then one
// transaction creates a whole-instance backup file (BackupAll) and a task per instance. What it
// will hold (which apps) is for each phone to say when its task runs.

export interface InstanceBackupRequest {
  instanceIds: string[];
  path: string;
  endpoint: string;
  name?: string;
  description?: string;
}

export async function requestInstanceBackup(
  deps: ServiceDeps,
  account: string,
  req: InstanceBackupRequest,
  invokeId: string,
  onCreated?: (tx: Repositories, created: { taskId: string; items: BackupItem[] }) => Promise<void>,
) {
  const { bucket, prefix } = parseOssUrl(req.path);
  const endpoint = assertEndpoint(req.endpoint);
  deps.storeFor(endpoint); // an endpoint with no store configured fails the call, not the tasks
  const instances = await loadInstances(deps, account, req.instanceIds, 'AndroidInstanceIdList');
  const items = instances.map((instance) => {
    const backupFileId = newId('bf');
    const backupFileName = `${req.name ?? 'instance'}_${instance.id}_${backupFileId.slice(3)}.tar.zst`;
    return { instance, backupFileId, backupFileName, taskId: newId('t'), key: joinKey(prefix, backupFileName) };
  });
  const data: BackupItem[] = items.map((it) => ({
    instanceId: it.instance.id,
    backupFileId: it.backupFileId,
    backupFileName: it.backupFileName,
    taskId: it.taskId,
  }));
  const taskId = await deps.db.transaction(async (tx) => {
    for (const it of items) {
      await tx.backupFiles.create({
        id: it.backupFileId,
        account,
        instanceId: it.instance.id,
        instanceName: it.instance.name,
        instanceGroupId: it.instance.instanceGroupId,
        endUserId: it.instance.endUserId,
        name: it.backupFileName,
        description: req.description ?? '',
        path: req.path,
        endpoint,
        bucket,
        objectKey: it.key,
        apps: [],
        paths: [SHARED_STORAGE],
        backupAll: true,
        taskId: it.taskId,
      });
    }
    const children = items.map((it) => ({
      id: it.taskId,
      instanceId: it.instance.id,
      instanceName: it.instance.name,
      param: { backupFileId: it.backupFileId },
    }));
    const param = {
      AndroidInstanceIdList: req.instanceIds,
      BackupFilePath: req.path,
      UploadEndpoint: endpoint,
      BackupFileName: req.name,
      Description: req.description,
    };
    const { batch } = await tx.tasks.createBatch(account, { type: 'BackupAndroidInstance', invokeId, param, children });
    await onCreated?.(tx, { taskId: batch.id, items: data });
    return batch.id;
  });
  deps.notifyTasks();
  return { taskId, items: data };
}
