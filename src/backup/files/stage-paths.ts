import { posix } from 'node:path';
import type { Device } from '../../devices/device.ts';
import { ERRORS } from '../../errors.ts';
import type { ArchiveCursor } from '../archive/archive-cursor.ts';
import { baseName, type PathManifest } from '../archive/path-manifest.ts';
import { readAhead } from '../archive/read-ahead.ts';
import { STAGING_PREFIX } from '../restore/stage-app.ts';
import { within } from './source-paths.ts';

// The first half of a file restore's staged apply: each saved path is extracted from the verified
// archive into a staging folder beside its target (same folder, so putting it in place is a
// rename) and counted; nothing at the target is touched. The target's parent folder must exist
// on the phone as itself (no symlink on the way, inside the allowed roots): a restore writes
// where the backup read, and a parent that is a link would put the files somewhere else.

export interface StagedPath {
  index: number;
  path: PathManifest;
  /** the staging folder: the folder itself for a folder path, the file's folder for a file */
  stage: string;
  /** what is renamed onto the target */
  staged: string;
  /** where the target's current entry is moved while the staged one takes its place */
  trash: string;
}

export interface PathRun {
  device: Device;
  instanceId: string;
  token: string;
  signal: AbortSignal;
  roots: readonly string[];
}

/** the scratch names beside path i's target (interrupted-paths.ts finds a dead run's by them) */
export function scratchOf(token: string, index: number, target: string) {
  const parent = posix.dirname(target);
  const name = (what: string) => `${parent === '/' ? '' : parent}/${STAGING_PREFIX}${token}-${what}-${index}`;
  return { stage: name('pnew'), trash: name('pold') };
}

/** refuses, before anything is written, a target whose folder is not where the backup's was */
export async function checkTarget(run: PathRun, path: PathManifest): Promise<void> {
  const parent = posix.dirname(path.path);
  const fail = (why: string) => ERRORS.deviceCommandFailed(run.instanceId, `cannot restore ${path.path}: ${why}`);
  // the manifest is the archive's word: a path outside the roots is an unsafe entry, not a phone fault
  if (!run.roots.some((r) => within(path.path, r))) {
    throw ERRORS.unsafeArchiveEntry(path.path, 'it is outside the allowed roots (files.allowedRoots)');
  }
  const facts = await run.device.inspectPath(parent);
  if (!facts) throw fail(`its folder ${parent} does not exist on the target`);
  if (facts.type !== 'directory') throw fail(`${parent} is not a folder on the target`);
  if (facts.realPath !== parent) throw fail(`${parent} resolves to ${facts.realPath} on the target`);
}

export async function stagePath(run: PathRun, cursor: ArchiveCursor, index: number, path: PathManifest) {
  const { device, instanceId } = run;
  const { stage, trash } = scratchOf(run.token, index, path.path);
  if (await device.exists(stage)) throw ERRORS.deviceCommandFailed(instanceId, `the staging folder ${stage} exists`);
  const staged: StagedPath = {
    index,
    path,
    stage,
    staged: path.type === 'file' ? `${stage}/${baseName(path.path)}` : stage,
    trash,
  };
  let entries = 0;
  const tar = readAhead(cursor.pathTar(index, () => entries++));
  try {
    await device.tarIn(stage, tar, { signal: run.signal });
    // a folder path's first entry is the staging folder itself; a file's folder is extra
    const expected = entries + (path.type === 'file' ? 1 : 0);
    const found = await device.countEntries(stage);
    if (found !== expected) {
      const why = `staging ${path.path} left ${found} entries of ${expected} in ${stage}`;
      throw ERRORS.deviceCommandFailed(instanceId, why);
    }
  } catch (err) {
    await device.remove(stage).catch(() => {});
    throw err;
  }
  return staged;
}
