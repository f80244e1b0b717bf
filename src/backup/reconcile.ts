import { restingStatus } from '../db/backup-files-repo.ts';
import type { InstanceStatus } from '../db/instances-repo.ts';
import { sidecarKey } from './sidecar.ts';
import { liftLeftovers } from './suspensions.ts';
import type { TaskDeps } from './task-deps.ts';

// Repairs what a crash of an older version (or anything outside a task's settle transaction)
// could have left: an instance or a backup file in a transient status with no unsettled task
// working on it, an app a killed process left suspended, an upload a dead put left behind. Statuses are read before the busy set, so a task that starts meanwhile is seen
// as busy; every repair is a compare-and-set on the status it saw. Returns what it fixed.

const TRANSIENT_INSTANCE: InstanceStatus[] = ['BACKUPING', 'RECOVERING'];

export async function reconcile(deps: TaskDeps): Promise<string[]> {
  const { db } = deps;
  const instances = await db.instances.withStatus(TRANSIENT_INSTANCE);
  const files = await db.backupFiles.withStatus(['BACKUPING', 'RECOVERING']);
  const busy = await db.tasks.busy();
  const fixed: string[] = [];
  for (const instance of instances) {
    if (busy.instances.has(instance.id)) continue;
    const last = await db.tasks.lastSettledOn(instance.id);
    const failed = last?.status === 'Failed';
    const status: InstanceStatus = !failed
      ? 'RUNNING'
      : instance.status === 'BACKUPING'
        ? 'BACKUP_FAILED'
        : 'RECOVER_FAILED';
    const errorCode = failed ? (last?.errorCode ?? 'TaskInterrupted') : undefined;
    if (await db.instances.setStatus(instance.id, status, { errorCode, expect: instance.status })) {
      fixed.push(`instance ${instance.id}: ${instance.status} with no task → ${status}`);
    }
  }
  for (const file of files) {
    if (busy.files.has(file.id)) continue;
    const status = file.status === 'BACKUPING' ? 'BACKUP_FAILED' : restingStatus(file.manifest);
    if (!(await db.backupFiles.update(file.account, file.id, { status }, { expectStatus: [file.status] }))) continue;
    fixed.push(`backup file ${file.id}: ${file.status} with no task → ${status}`);
    if (status === 'BACKUP_FAILED') {
      // an interrupted backup's object is not an archive anyone may restore
      const store = deps.storeFor(file.endpoint);
      await store.delete(file.bucket, sidecarKey(file.objectKey));
      await store.delete(file.bucket, file.objectKey);
    }
  }
  // suspensions a killed process left on phones no task is about to use (a task lifts them itself)
  for (const instanceId of new Set((await db.suspensions.list()).map((s) => s.instanceId))) {
    if (busy.instances.has(instanceId)) continue;
    const instance = await db.instances.byId(instanceId);
    if (!instance) continue;
    try {
      const device = await deps.connect(instance.adbAddress);
      try {
        for (const pkg of await liftLeftovers(deps, instance, device))
          fixed.push(`instance ${instanceId}: ${pkg} resumed`);
      } finally {
        await device.close().catch(() => {});
      }
    } catch (err) {
      // the phone is away: the record stays, for the next pass or the next task on it
      fixed.push(`instance ${instanceId}: suspensions left in place, phone unreachable (${(err as Error).message})`);
    }
  }
  // puts that died with their process (temp files, multipart uploads) where backups are written;
  // a live put keeps its temp file's mtime fresh, and the key of a backup still being written is kept
  const writing = new Set(
    files.filter((f) => f.status === 'BACKUPING' && busy.files.has(f.id)).map((f) => f.objectKey),
  );
  for (const p of await db.backupFiles.places()) {
    const prefix = p.path.replace(/^oss:\/\/[^/]+\/?/, '');
    const swept = await deps.storeFor(p.endpoint).sweepAbandoned(p.bucket, prefix, deps.abandonedAfterMs, writing);
    if (swept) fixed.push(`${p.path} on ${p.endpoint}: ${swept} abandoned upload(s) removed`);
  }
  return fixed;
}
