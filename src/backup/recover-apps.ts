import { randomBytes } from 'node:crypto';
import type { Device } from '../devices/device.ts';
import { ERRORS } from '../errors.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import type { InstanceFacts, Sidecar } from './archive/manifest.ts';
import type { TaskContext } from './backup-apps.ts';
import { checkCompatibility } from './compatibility.ts';
import { applyApp } from './restore/apply-app.ts';
import { type RestoreRun, removeScratch, type StagedApp, stageApp } from './restore/stage-app.ts';
import { openVerified } from './restore/verify-archive.ts';
import { readSidecar } from './sidecar.ts';

// One target's RecoverApp work, as a staged apply that cannot leave an app half-restored, reading
// the archive once:
// 1. stage and verify: as the archive streams, each entry is checked (entry rules, size, order)
//    and extracted into a staging folder on the phone, and each folder is counted against what
//    was streamed; at its end the links of the whole set, every file against SHA256SUMS and the
//    object against the sidecar (restore/verify-archive.ts). The apps themselves are not touched;
// 2. apply, app by app, each behind the task's fence: install, swap the staged parts in by
//    rename, owners, labels, grants.
// A failure in 1 leaves the target exactly as it was; the staging is always removed.

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
  const run: RestoreRun = {
    device,
    instanceId: job.target.id,
    token: randomBytes(6).toString('hex'),
    signal: ctx.signal,
  };
  const staged: StagedApp[] = [];
  const warnings: string[] = [];
  const cursor = await openVerified(store, job, sidecar, job.target, {
    tick: progressOf(ctx, sidecar),
    signal: ctx.signal,
  });
  try {
    for (const app of sidecar.manifest.apps) staged.push(await stageApp(run, cursor, app));
    // the last checks (links, SHA256SUMS, the object's digest) pass before any app is changed
    await cursor.finish();
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

/** progress of a restore: the archive's data bytes as they are written to the phone */
export function progressOf(ctx: TaskContext, sidecar: Sidecar): (n: number) => void {
  let done = 0;
  return (n) => {
    done += n;
    ctx.progress(done, Math.max(sidecar.dataBytes, done));
  };
}
