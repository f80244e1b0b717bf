import type { Device, PackageInfo } from '../devices/device.ts';
import { ERRORS } from '../errors.ts';
import { failpoint } from '../failpoints.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import type { ArchiveWriter } from './archive/archive-writer.ts';
import type { AppManifest, InstanceFacts, Manifest } from './archive/manifest.ts';
import { describeApps } from './describe-apps.ts';
import { storeAndSeal } from './publish-backup.ts';
import type { SuspensionLedger } from './suspensions.ts';

// One instance's BackupApp work: read every app's APKs and data parts from the device into
// one version 1 archive streamed straight into the object store, then write the sidecar.
// Apps are force-stopped and suspended while they are copied and resumed afterwards, but a
// suspension the service did not make is never lifted (Android 10 keeps a single suspender, so
// our unsuspend would lift another party's), and a refused one is reported, not ignored.

export interface BackupJob {
  backupFileId: string;
  instance: InstanceFacts;
  packages: string[];
  bucket: string;
  key: string;
  /** fail instead of warning when the package manager refuses to suspend an app */
  requireSuspension?: boolean;
  /** where the suspensions this job makes are recorded until it resumes them (suspensions.ts) */
  suspensions: SuspensionLedger;
}

export interface TaskContext {
  signal: AbortSignal;
  progress(done: number, total: number): void;
  /** throws when this run may no longer publish (src/tasks/task-queue.ts) */
  fence(): Promise<void>;
}

export interface BackupResult {
  size: number;
  sha256: string;
  manifest: Manifest;
  /** bytes of app data read from the device */
  sourceBytes: number;
  /** what makes this copy less than the operator asked for, e.g. an app copied unsuspended */
  warnings: string[];
}

// the `lib` link points into the APK's install folder; the installer recreates it
const skipLib = (rel: string) => rel === 'lib' || rel.startsWith('lib/');

export async function backupApps(
  job: BackupJob,
  device: Device,
  store: ObjectStore,
  ctx: TaskContext,
): Promise<BackupResult> {
  const { infos, apps, total } = await describeApps(device, job.packages, ctx.signal, (pkg) => {
    throw ERRORS.appNotInstalled(pkg, job.instance.id);
  });
  const manifest: Manifest = {
    format: 'cloudphone-backup',
    version: 1,
    created: new Date().toISOString(),
    backupFileId: job.backupFileId,
    instance: job.instance,
    apps,
    paths: [],
    failed: [],
  };
  let done = 0;
  ctx.progress(0, total);
  const onBytes = (n: number) => {
    done += n;
    ctx.progress(done, Math.max(total, done));
  };
  const warnings: string[] = [];
  const build = async (w: ArchiveWriter) => {
    await w.writeManifest(manifest);
    for (const [i, info] of infos.entries()) {
      await copyApp(device, w, info, apps[i] as AppManifest, { ...job, signal: ctx.signal, warnings });
    }
  };
  const stored = await storeAndSeal(store, job, { manifest, signal: ctx.signal, onBytes, fence: ctx.fence }, build);
  ctx.progress(done, done); // the total was du's estimate; what was read is the truth
  return { ...stored, manifest, sourceBytes: done, warnings };
}

export interface CopyOptions {
  instance: InstanceFacts;
  requireSuspension?: boolean;
  suspensions: SuspensionLedger;
  signal: AbortSignal;
  warnings: string[];
}

export async function copyApp(
  device: Device,
  w: ArchiveWriter,
  info: PackageInfo,
  app: AppManifest,
  opts: CopyOptions,
) {
  const mtime = Math.floor(Date.now() / 1000);
  const { signal } = opts;
  await device.forceStop(info.name);
  // already suspended (by another party, or by an operator): copy it as it is and leave it so.
  // Ours is recorded before pm suspend, so a process killed from here on leaves a record to lift.
  if (!info.suspended) await opts.suspensions.suspending(info.name);
  const ours = !info.suspended && (await device.suspend(info.name));
  if (!info.suspended && !ours) {
    await opts.suspensions.resumed(info.name);
    if (opts.requireSuspension) throw ERRORS.suspendRefused(info.name, opts.instance.id);
    opts.warnings.push(
      `${info.name}: the package manager refused to suspend it (a default launcher, dialer or SMS app, or a device admin); it was force-stopped and copied while not suspended`,
    );
  }
  let copied = false;
  try {
    for (const apk of info.apks) {
      const meta = { mode: 0o644, uid: 1000, gid: 1000, size: apk.size, mtime };
      await w.addFile(`apps/${info.name}/apk/${apk.name}`, meta, device.readFile(apk.path, { signal }));
    }
    failpoint('backup:reading-phone'); // the app is suspended and its APKs are in the archive
    for (const part of app.parts) {
      const tar = device.tarOut(info.dataDirs[part], { signal });
      await w.addTree(info.name, part, tar, part === 'ce' ? skipLib : undefined);
    }
    copied = true;
  } finally {
    // resume what we suspended whatever happened; a failure to resume only surfaces if the copy succeeded
    if (ours) {
      // an unsuspend that fails stays recorded: the task's end, or the next task, lifts it
      const resumed = await device.unsuspend(info.name).then(
        () => true,
        (err) => {
          if (copied) throw err;
          return false;
        },
      );
      if (resumed) await opts.suspensions.resumed(info.name);
    }
  }
}
