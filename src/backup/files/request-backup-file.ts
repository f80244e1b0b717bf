import { FILES_DEFAULTS } from '../../config.ts';
import type { Repositories } from '../../db/database.ts';
import { newId } from '../../db/ids.ts';
import { ERRORS } from '../../errors.ts';
import { assertEndpoint, joinKey, parseOssUrl } from '../../storage/object-key.ts';
import { type BackupItem, loadInstances } from '../request-backup.ts';
import type { ServiceDeps } from '../service-deps.ts';
import type { BackupFileParams } from '../tasks/backup-file-task.ts';
import { planSources } from './source-paths.ts';

// BackupFile's synchronous part: every check that can fail the whole call happens before anything
// is written (the paths' spelling and allowed roots, the endpoint, the instances); then one
// transaction creates a backup file and a BackupFile task per instance. Whether each path exists,
// and what it is, is for each phone to say (describe-path.ts).

export interface BackupFileRequest {
  instanceIds: string[];
  paths: string[];
  excludes: string[];
  packages: string[];
  path: string;
  endpoint: string;
  name?: string;
  description?: string;
}

export async function requestBackupFile(
  deps: ServiceDeps,
  account: string,
  req: BackupFileRequest,
  invokeId: string,
  onCreated?: (tx: Repositories, created: { taskId: string; items: BackupItem[] }) => Promise<void>,
) {
  if (req.paths.length === 0 && req.packages.length === 0) throw ERRORS.missingParameter('SourceFilePathList');
  const { paths, excludes } = planSources(
    req.paths,
    req.excludes,
    deps.files?.allowedRoots ?? FILES_DEFAULTS.allowedRoots,
  );
  const { bucket, prefix } = parseOssUrl(req.path);
  const endpoint = assertEndpoint(req.endpoint);
  deps.storeFor(endpoint);
  const instances = await loadInstances(deps, account, req.instanceIds, 'AndroidInstanceIdList');
  const packages = [...new Set(req.packages)];
  const items = instances.map((instance) => {
    const backupFileId = newId('bf');
    const backupFileName = `${req.name ?? 'files'}_${instance.id}_${backupFileId.slice(3)}.tar.zst`;
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
        name: it.backupFileName,
        description: req.description ?? '',
        path: req.path,
        endpoint,
        bucket,
        objectKey: it.key,
        apps: packages,
        paths,
        taskId: it.taskId,
      });
    }
    const children = items.map((it) => {
      const param: BackupFileParams = { backupFileId: it.backupFileId, paths, excludes, packages };
      return { id: it.taskId, instanceId: it.instance.id, instanceName: it.instance.name, param };
    });
    const param = {
      AndroidInstanceIdList: req.instanceIds,
      SourceFilePathList: paths,
      ExcludeSourceFilePathList: req.excludes,
      SourceAppList: packages,
      BackupFilePath: req.path,
      UploadType: 'OSS',
      UploadEndpoint: endpoint,
      BackupFileName: req.name,
      Description: req.description,
    };
    const { batch } = await tx.tasks.createBatch(account, { type: 'BackupFile', invokeId, param, children });
    await onCreated?.(tx, { taskId: batch.id, items: data });
    return batch.id;
  });
  deps.notifyTasks();
  return { taskId, items: data };
}
