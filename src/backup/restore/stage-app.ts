import { posix } from 'node:path';
import { type DataPart, partFolder } from '../../android/layout.ts';
import type { Device, DeviceApk } from '../../devices/device.ts';
import { ERRORS } from '../../errors.ts';
import { failpoint } from '../../failpoints.ts';
import type { ArchiveCursor } from '../archive/archive-cursor.ts';
import type { AppManifest } from '../archive/manifest.ts';
import { readAhead } from '../archive/read-ahead.ts';

// The first half of a staged apply: an app's APKs and data parts are extracted from the verified
// archive into staging folders on the phone, each part beside the folder it will replace (same
// filesystem, so putting it in place is a rename) and the APKs under /data/local/tmp (where
// system_server may read them for an install session). Nothing the app uses is touched here.

/** every scratch name a restore makes starts with this (interrupted.ts finds a dead run's by it) */
export const STAGING_PREFIX = '.cpb-';
/** where the APKs are staged (system_server may read them there for an install session) */
export const APK_STAGING_DIR = '/data/local/tmp';

export interface StagedApp {
  app: AppManifest;
  apks: DeviceApk[];
  /** part → its staging folder */
  parts: Map<DataPart, string>;
  /** every folder this restore created for the app, removed whatever happens */
  scratch: string[];
  /** where a part's current folder is moved before the staged one takes its place */
  trash(part: DataPart): string;
}

export interface RestoreRun {
  device: Device;
  /** the target instance, for messages */
  instanceId: string;
  /** names this run's staging folders apart from any other run's */
  token: string;
  signal: AbortSignal;
}

export async function stageApp(run: RestoreRun, cursor: ArchiveCursor, app: AppManifest): Promise<StagedApp> {
  const { device } = run;
  const pkg = app.package;
  const beside = (part: DataPart, what: string) => {
    const folder = partFolder(pkg, part);
    return `${posix.dirname(folder)}/${STAGING_PREFIX}${run.token}-${what}-${pkg}`;
  };
  const apkDir = `${APK_STAGING_DIR}/${STAGING_PREFIX}${run.token}-apk-${pkg}`;
  const staged: StagedApp = {
    app,
    apks: app.apks.map((a) => ({ name: a.name, size: a.size, path: `${apkDir}/${a.name}` })),
    parts: new Map(),
    scratch: [apkDir],
    trash: (part) => beside(part, 'old'),
  };
  try {
    await extract(run, cursor, pkg, 'apk', apkDir, 1);
    failpoint('restore:staging'); // the APKs are staged on the phone, the app untouched
    for (const part of app.parts) {
      const dir = beside(part, 'new');
      staged.scratch.push(dir, staged.trash(part));
      await extract(run, cursor, pkg, part, dir, 0);
      staged.parts.set(part, dir);
    }
  } catch (err) {
    await removeScratch(device, staged);
    throw err;
  }
  return staged;
}

export async function removeScratch(device: Device, staged: StagedApp): Promise<void> {
  // one command for all: rm -rf goes on past a path it cannot remove
  await device.remove(...staged.scratch).catch(() => {});
}

/** one part into its staging folder; the folder must then hold exactly what was streamed */
async function extract(run: RestoreRun, cursor: ArchiveCursor, pkg: string, part: string, dir: string, extra: number) {
  const { device, instanceId } = run;
  if (await device.exists(dir)) throw ERRORS.deviceCommandFailed(instanceId, `the staging folder ${dir} exists`);
  let entries = 0;
  const tar = readAhead(cursor.partTar(pkg, part, () => entries++));
  await device.tarIn(dir, tar, { signal: run.signal });
  const found = await device.countEntries(dir);
  if (found !== entries + extra) {
    const why = `staging ${pkg}/${part} left ${found - extra} entries of ${entries} in ${dir}`;
    throw ERRORS.deviceCommandFailed(instanceId, why);
  }
}
