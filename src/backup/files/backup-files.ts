import type { Device } from '../../devices/device.ts';
import { ERRORS } from '../../errors.ts';
import type { ObjectStore } from '../../storage/object-store.ts';
import type { ArchiveWriter } from '../archive/archive-writer.ts';
import type { AppManifest, FailedItem, Manifest, PathManifest } from '../archive/manifest.ts';
import { type BackupJob, type BackupResult, copyApp, type TaskContext } from '../backup-apps.ts';
import { describeApps } from '../describe-apps.ts';
import type { InstanceSettings } from '../instance-settings.ts';
import { storeAndSeal } from '../publish-backup.ts';
import { describePath, type PathSource } from './describe-path.ts';

// One instance's BackupFile work: the paths (and apps) the request named, into one archive in the
// same format as BackupApp's (docs/archive-format.md): the manifest, the apps under apps/<pkg>/,
// then each path under paths/<i>/, streamed from the phone's tar (excludes applied there, so
// excluded bytes never leave the phone) through zstd into the store, then the sidecar. What
// cannot be backed up (a missing path, one reached through a symlink, an app that is not
// installed) is known before the manifest is written: it is recorded there with its reason and
// the rest is still backed up (PART_BACKUP_FINISHED); when nothing is left the task fails.

export interface FileBackupJob extends Omit<BackupJob, 'packages'> {
  packages: string[];
  /** normalised source paths and, per path, its excludes relative to it (source-paths.ts) */
  paths: string[];
  excludes: string[][];
  allowedRoots: readonly string[];
  /** a whole-instance backup's settings, kept in its manifest */
  settings?: InstanceSettings;
}

export interface FileBackupResult extends BackupResult {
  failed: FailedItem[];
}

export async function backupFiles(
  job: FileBackupJob,
  device: Device,
  store: ObjectStore,
  ctx: TaskContext,
): Promise<FileBackupResult> {
  const failed: FailedItem[] = [];
  const absent = (pkg: string) =>
    failed.push({ kind: 'app', item: pkg, reason: `is not installed for user 0 on ${job.instance.id}` });
  const { infos, apps, total: appBytes } = await describeApps(device, job.packages, ctx.signal, absent);
  const sources: PathSource[] = [];
  for (const [i, path] of job.paths.entries()) {
    const source = await describePath(device, path, job.excludes[i] ?? [], job.allowedRoots);
    if ('reason' in source) failed.push({ kind: 'path', item: path, reason: source.reason });
    else sources.push(source);
  }
  if (apps.length + sources.length === 0) {
    throw ERRORS.nothingToBackUp(job.instance.id, failed.map((f) => `${f.item} ${f.reason}`).join('; '));
  }
  const paths: PathManifest[] = sources.map((s) => s.manifest);
  const manifest: Manifest = {
    format: 'cloudphone-backup',
    version: 1,
    created: new Date().toISOString(),
    backupFileId: job.backupFileId,
    instance: job.instance,
    apps,
    paths,
    failed,
    ...(job.settings ? { settings: job.settings } : {}),
  };
  const total = sources.reduce((n, s) => n + s.bytes, appBytes);
  let done = 0;
  ctx.progress(0, total);
  const onBytes = (n: number) => {
    done += n;
    ctx.progress(done, Math.max(total, done));
  };
  const warnings: string[] = [];
  const { signal } = ctx;
  const build = async (w: ArchiveWriter) => {
    await w.writeManifest(manifest);
    for (const [i, info] of infos.entries()) {
      await copyApp(device, w, info, apps[i] as AppManifest, { ...job, signal, warnings });
    }
    for (const [i, s] of sources.entries()) {
      await w.addPath(i, s.manifest.path, device.tarOut(s.dir, { member: s.member, exclude: s.exclude, signal }));
    }
  };
  const stored = await storeAndSeal(store, job, { manifest, signal, onBytes, fence: ctx.fence }, build);
  ctx.progress(done, done);
  for (const p of paths) {
    for (const u of p.skipped) {
      const why = u.type === 'socket' ? 'tar cannot carry it' : 'a restore may not recreate it';
      warnings.push(`${p.path}/${u.path}: a ${u.type} was left out (${why})`);
    }
  }
  return { ...stored, manifest, sourceBytes: done, warnings, failed };
}
