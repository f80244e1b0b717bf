import { randomBytes } from 'node:crypto';
import type { Device } from '../devices/device.ts';
import { ERRORS } from '../errors.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { ArchiveCursor } from './archive/archive-cursor.ts';
import { readArchive } from './archive/archive-reader.ts';
import type { InstanceFacts, Sidecar } from './archive/manifest.ts';
import type { TaskContext } from './backup-apps.ts';
import { checkCompatibility } from './compatibility.ts';
import { applyApp } from './restore/apply-app.ts';
import { type RestoreRun, removeScratch, type StagedApp, stageApp } from './restore/stage-app.ts';
import { verifyArchive } from './restore/verify-archive.ts';
import { readSidecar } from './sidecar.ts';

// One target's RecoverApp work, as a staged apply that cannot leave an app half-restored:
// 1. verify: the whole archive is read and checked (object digest against the sidecar, every
//    entry against the entry rules, every file against SHA256SUMS, the order against the manifest);
// 2. stage: every app's APKs and data parts are extracted into staging folders on the phone,
//    and each folder is counted against what was streamed; the apps themselves are not touched;
// 3. apply, app by app, each behind the task's fence: install, swap the staged parts in by
//    rename, owners, labels, grants.
// A failure in 1 or 2 leaves the target exactly as it was; the staging is always removed.

export interface RecoverJob {
  bucket: string;
  key: string;
  target: InstanceFacts;
  /** the object's digest and size as the service recorded them when the backup was made */
  recorded: { sha256: string | null; size: number };
}

/** the archive's sidecar, refused unless it matches what the service recorded when it made the backup */
export async function trustedSidecar(store: ObjectStore, job: RecoverJob): Promise<Sidecar> {
  const sidecar = await readSidecar(store, job.bucket, job.key);
  // the sidecar lives in the bucket, beside what it vouches for: only the service's own record
  // of the digest tells a re-signed sidecar from the real one
  if (!job.recorded.sha256) throw ERRORS.corruptBackup('no digest was recorded for it when it was made');
  if (sidecar.sha256 !== job.recorded.sha256 || sidecar.size !== job.recorded.size) {
    throw ERRORS.corruptBackup('its sidecar does not match the digest the service recorded when it was made');
  }
  return sidecar;
}

export async function recoverApps(job: RecoverJob, device: Device, store: ObjectStore, ctx: TaskContext) {
  const sidecar = await trustedSidecar(store, job);
  checkCompatibility(sidecar.manifest.instance, job.target);
  // progress counts the archive's data twice: once verified, once written to the device
  const total = sidecar.dataBytes * 2;
  let done = 0;
  const tick = (n: number) => {
    done += n;
    ctx.progress(done, Math.max(total, done));
  };
  await verifyArchive(store, job, sidecar, job.target, tick, ctx.signal);
  const run: RestoreRun = {
    device,
    instanceId: job.target.id,
    token: randomBytes(6).toString('hex'),
    signal: ctx.signal,
  };
  const staged: StagedApp[] = [];
  const warnings: string[] = [];
  const cursor = new ArchiveCursor(readArchive(await store.get(job.bucket, job.key, { signal: ctx.signal })), tick);
  try {
    for (const app of sidecar.manifest.apps) staged.push(await stageApp(run, cursor, app));
    const end = await cursor.finish();
    if (end.sha256 !== sidecar.sha256) throw ERRORS.corruptBackup('the object changed while it was restored');
    for (const app of staged) {
      // a run that lost the task (or was cancelled) changes no more apps; each app is whole or untouched
      await ctx.fence();
      await applyApp(run, app, warnings);
    }
  } finally {
    await cursor.close().catch(() => {});
    for (const app of staged) await removeScratch(device, app);
  }
  return { apps: staged.map((s) => s.app.package), warnings };
}
