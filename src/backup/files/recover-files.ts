import { randomBytes } from 'node:crypto';
import type { Device } from '../../devices/device.ts';
import type { ObjectStore } from '../../storage/object-store.ts';
import type { TaskContext } from '../backup-apps.ts';
import { checkCompatibility } from '../compatibility.ts';
import { progressOf, type RecoverJob, trustedSidecar } from '../recover-apps.ts';
import { applyApp } from '../restore/apply-app.ts';
import { type RestoreRun, removeScratch, type StagedApp, stageApp } from '../restore/stage-app.ts';
import { openVerified } from '../restore/verify-archive.ts';
import { applyPath, removePathScratch } from './apply-paths.ts';
import { journalDir, writeJournal } from './interrupted-paths.ts';
import { checkTarget, type PathRun, type StagedPath, stagePath } from './stage-paths.ts';

// One target's RecoveryFile work: everything the backup file holds (its paths, and its apps if
// it has any) back onto the phone, with RecoverApp's guarantees (docs/restore.md):
// 1. check, touching nothing: the sidecar against the digest the service recorded, the apps'
//    compatibility, each path's folder on the target;
// 2. stage and verify in one read of the archive: every app and path is extracted beside its
//    target as its entries are checked (entry rules confined to each path's folder, order),
//    and counted, after a journal of the targets is on the phone (interrupted-paths.ts undoes a
//    killed run); at the end the links of the whole set, SHA256SUMS and the object's digest;
// 3. apply, each app and then each path behind the task's fence, swapped in by rename.
// A failure in 1 or 2 leaves the target as it was; each applied item is whole or untouched.

export interface RecoverFilesJob extends RecoverJob {
  roots: readonly string[];
}

export async function recoverFiles(job: RecoverFilesJob, device: Device, store: ObjectStore, ctx: TaskContext) {
  const sidecar = await trustedSidecar(store, job);
  const { manifest } = sidecar;
  // an app's data only fits a compatible phone; files carry no such tie (their owners are numeric)
  if (manifest.apps.length > 0) checkCompatibility(manifest.instance, job.target);
  const token = randomBytes(6).toString('hex');
  const run: RestoreRun = { device, instanceId: job.target.id, token, signal: ctx.signal };
  const pathRun: PathRun = { ...run, roots: job.roots };
  for (const path of manifest.paths) await checkTarget(pathRun, path);
  const apps: StagedApp[] = [];
  const paths: StagedPath[] = [];
  const warnings: string[] = [];
  await writeJournal(
    device,
    token,
    manifest.paths.map((p, index) => ({ index, path: p.path, excludes: p.excludes })),
  );
  const tick = progressOf(ctx, sidecar);
  const cursor = await openVerified(store, job, sidecar, job.target, { tick, signal: ctx.signal, pathsExpected: true });
  try {
    for (const app of manifest.apps) apps.push(await stageApp(run, cursor, app));
    for (const [i, path] of manifest.paths.entries()) paths.push(await stagePath(pathRun, cursor, i, path));
    await cursor.finish();
    for (const app of apps) {
      await ctx.fence();
      await applyApp(run, app, warnings);
    }
    for (const path of paths) {
      await ctx.fence();
      await applyPath(pathRun, path);
    }
  } finally {
    await cursor.close().catch(() => {});
    // the journal first: once it is gone a crash leaves at worst scratch, never an undo of what was applied
    await device.remove(journalDir(token)).catch(() => {});
    for (const app of apps) await removeScratch(device, app);
    await removePathScratch(pathRun, paths);
  }
  return { apps: apps.map((a) => a.app.package), paths: paths.map((p) => p.path.path), warnings };
}
