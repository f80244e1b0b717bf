import type { Device } from '../../devices/device.ts';
import type { PathManifest } from '../archive/path-manifest.ts';
import { excludePattern, within } from './source-paths.ts';

// A BackupFile path as the phone has it, before anything is copied (the manifest comes first):
// either its manifest record and what its tar stream needs, or why it cannot be backed up, which
// fails that path only (the file is then PART_BACKUP_FINISHED). The request checked the path's
// spelling (source-paths.ts); here the phone says what it is. A path reached through a symlink is
// refused, not followed: the link could lead out of the allowed roots, and a restore must write
// where the backup read.

export interface PathSource {
  manifest: PathManifest;
  /** tar's -C folder, and for a file its name there */
  dir: string;
  member?: string;
  /** toybox --exclude patterns: the request's excludes and what may not be archived */
  exclude: string[];
  /** du's estimate, for progress */
  bytes: number;
}

export async function describePath(
  device: Device,
  path: string,
  excludes: readonly string[],
  roots: readonly string[],
): Promise<PathSource | { reason: string }> {
  const facts = await device.inspectPath(path);
  if (!facts) return { reason: 'does not exist on the phone' };
  if (facts.realPath !== path) {
    const outside = roots.some((r) => within(facts.realPath, r)) ? '' : ', outside the allowed roots';
    return {
      reason: `is reached through a symbolic link (it resolves to ${facts.realPath}${outside}); name the real path`,
    };
  }
  if (facts.type !== 'directory' && facts.type !== 'file') {
    return { reason: 'is neither a regular file nor a folder' };
  }
  if (!facts.readable) return { reason: "cannot be read by the phone's root shell" };
  if (facts.mode & 0o4000) return { reason: 'has the setuid bit, which a restore may not recreate' };
  const { uid, gid, mode, mtime, context } = facts;
  const base = { path, type: facts.type, uid, gid, mode, mtime, context, excludes: [...excludes] };
  const bytes = await device.usage(path);
  if (facts.type === 'file') {
    const cut = path.lastIndexOf('/');
    const dir = path.slice(0, cut) || '/';
    return { manifest: { ...base, skipped: [] }, dir, member: path.slice(cut + 1), exclude: [], bytes };
  }
  // what lies inside an exclude is not read at all, so it is not reported as skipped either
  const excluded = (rel: string) => excludes.some((e) => rel === e || rel.startsWith(`${e}/`));
  const skipped = (await device.unarchivable(path)).filter((u) => !excluded(u.path));
  const exclude = [...excludes, ...skipped.map((u) => u.path)].map(excludePattern);
  return { manifest: { ...base, skipped }, dir: path, exclude, bytes };
}
