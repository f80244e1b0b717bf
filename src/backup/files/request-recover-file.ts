import { type BackupFile, RESTORABLE_STATUSES } from '../../db/backup-files-repo.ts';
import type { Repositories } from '../../db/database.ts';
import { ERRORS } from '../../errors.ts';
import { assertBucket, assertEndpoint, assertKey, objectUrl } from '../../storage/object-key.ts';
import { loadInstances } from '../request-backup.ts';
import type { ServiceDeps } from '../service-deps.ts';
import type { RecoverFileParams } from '../tasks/recover-file-task.ts';

// RecoveryFile's synchronous part. The SDK makes both BackupFileId and BackupFilePath optional
// (docs/api-models.md); one of them must name the file: the id, or the full object URL
// (oss://bucket/dir/name.tar.zst, as DescribeBackupFiles' BackupFilePath shows it). Another
// account's file is reported exactly like a missing one. Each target must exist; whether its
// folders fit is for its task to check before it touches the phone.

export interface RecoverFileRequest {
  backupFileId?: string;
  path?: string;
  endpoint?: string;
  instanceIds: string[];
  /** RecoverAndroidInstance restores whole-instance backups only (the same work otherwise) */
  type?: 'RecoverFile' | 'RecoverAndroidInstance';
}

export interface RecoverFileItem {
  instanceId: string;
  taskId: string;
}

export async function requestRecoverFile(
  deps: ServiceDeps,
  account: string,
  req: RecoverFileRequest,
  invokeId: string,
  onCreated?: (tx: Repositories, created: { taskId: string; items: RecoverFileItem[] }) => Promise<void>,
) {
  const file = await findFile(deps, account, req);
  const type = req.type ?? 'RecoverFile';
  if (type === 'RecoverAndroidInstance' && !file.backupAll) {
    const what = req.backupFileId !== undefined ? 'BackupFileId' : 'BackupFilePath';
    throw ERRORS.invalidParameter(
      what,
      `backup file ${file.id} is not a whole-instance backup (BackupAndroidInstance)`,
    );
  }
  if (!RESTORABLE_STATUSES.includes(file.status)) throw ERRORS.backupFileInUse(file.id, file.status);
  if (req.endpoint !== undefined && assertEndpoint(req.endpoint) !== file.endpoint) {
    throw ERRORS.invalidParameter('UploadEndpoint', `backup file ${file.id} is stored behind ${file.endpoint}`);
  }
  const targets = await loadInstances(deps, account, req.instanceIds, 'AndroidInstanceIdList');
  const param: RecoverFileParams = { backupFileId: file.id };
  const created = await deps.db.transaction(async (tx) => {
    const { batch, children } = await tx.tasks.createBatch(account, {
      type,
      invokeId,
      param: {
        BackupFileId: file.id,
        BackupFilePath: objectUrl(file.bucket, file.objectKey),
        AndroidInstanceIdList: req.instanceIds,
        UploadType: 'OSS',
      },
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

async function findFile(deps: ServiceDeps, account: string, req: RecoverFileRequest): Promise<BackupFile> {
  if (req.backupFileId === undefined && req.path === undefined) throw ERRORS.missingParameter('BackupFileId');
  if (req.backupFileId !== undefined) {
    const file = await deps.db.backupFiles.get(account, req.backupFileId);
    if (!file) throw ERRORS.backupFileNotFound(req.backupFileId);
    const url = objectUrl(file.bucket, file.objectKey);
    if (req.path !== undefined && req.path !== url && req.path !== file.path) {
      throw ERRORS.invalidParameter('BackupFilePath', `backup file ${file.id} is stored at ${url}`);
    }
    return file;
  }
  const path = req.path as string;
  const m = /^oss:\/\/([^/]+)\/(.*[^/])$/.exec(path);
  if (!m) throw ERRORS.invalidParameter('BackupFilePath', 'expected the backup file as oss://<bucket>/<folder>/<name>');
  const file = await deps.db.backupFiles.byObject(
    account,
    assertBucket(m[1] as string, 'BackupFilePath'),
    assertKey(m[2] as string, 'BackupFilePath'),
  );
  if (!file) throw ERRORS.backupFileNotFound(path);
  return file;
}
