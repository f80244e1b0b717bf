import { ERRORS } from '../../errors.ts';
import { STAGING_PREFIX } from '../restore/stage-app.ts';

// The one home of the rules for phone paths an API caller names (BackupFile's
// SourceFilePathList and ExcludeSourceFilePathList). They are untrusted: each is normalised
// ("//" and "." collapsed, a trailing "/" dropped), must be absolute, must hold no ".." (refused,
// not resolved: what it would name depends on links on the phone), no NUL or other control
// character, and must lie at or below one of the allowed roots (config files.allowedRoots,
// default /data). The phone checks once more that each path is what it says (not reached through
// a symlink: backup-files.ts). Everything that reaches a shell is quoted there (shell-args.ts).

const MAX_PATH_BYTES = 4096;

export interface SourcePlan {
  /** the normalised source paths, in the caller's order, duplicates dropped */
  paths: string[];
  /** per source path, the excludes inside it, relative to it ("cache", "a/b") */
  excludes: string[][];
}

/** `path` normalised, or an InvalidParameter naming `param` and the path */
export function normalisePhonePath(param: string, path: string, roots: readonly string[]): string {
  const bad = (why: string) => ERRORS.invalidParameter(param, `${JSON.stringify(path)} ${why}`);
  if (path.length === 0 || Buffer.byteLength(path) > MAX_PATH_BYTES) throw bad('is empty or too long');
  // a newline would end a line of the phone's output, a NUL a C string: neither can name a file we can report
  if (/[\u0000-\u001f\u007f]/.test(path)) throw bad('contains a NUL, newline or other control character');
  if (!path.startsWith('/')) throw bad('is not an absolute path');
  const segments = path.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) throw bad('contains a ".." segment');
  if (segments.some((s) => s.startsWith(STAGING_PREFIX))) {
    throw bad(`names a ${STAGING_PREFIX}… folder, which restores use for staging`);
  }
  const normal = `/${segments.join('/')}`;
  if (!roots.some((root) => within(normal, root))) {
    throw bad(`is outside the folders files can be backed up from (${roots.join(', ')})`);
  }
  return normal;
}

/** `path` is `root` or below it */
export function within(path: string, root: string): boolean {
  return root === '/' || path === root || path.startsWith(`${root}/`);
}

/**
 * Checks and normalises a BackupFile request's paths: sources must not overlap (one inside
 * another would be archived twice and restored in an order that undoes itself), and every
 * exclude must lie strictly inside exactly one source.
 */
export function planSources(sources: readonly string[], excludes: readonly string[], roots: readonly string[]) {
  const paths: string[] = [];
  for (const raw of sources) {
    const path = normalisePhonePath('SourceFilePathList', raw, roots);
    if (paths.includes(path)) continue;
    const other = paths.find((p) => within(path, p) || within(p, path));
    if (other) {
      throw ERRORS.invalidParameter(
        'SourceFilePathList',
        `${JSON.stringify(path)} and ${JSON.stringify(other)} overlap; list only the outer one`,
      );
    }
    paths.push(path);
  }
  const inside: string[][] = paths.map(() => []);
  for (const raw of excludes) {
    const path = normalisePhonePath('ExcludeSourceFilePathList', raw, roots);
    const i = paths.findIndex((p) => path !== p && within(path, p));
    if (i < 0) {
      throw ERRORS.invalidParameter(
        'ExcludeSourceFilePathList',
        `${JSON.stringify(path)} is not inside any folder of SourceFilePathList`,
      );
    }
    const rel = path.slice((paths[i] as string).length + 1);
    const list = inside[i] as string[];
    if (!list.includes(rel)) list.push(rel);
  }
  return { paths, excludes: inside } satisfies SourcePlan;
}

/**
 * The pattern toybox tar's --exclude needs to leave out exactly `./<rel>` of a `tar -c -C dir .`
 * stream. toybox matches each pattern with fnmatch(pattern, suffix, FNM_LEADING_DIR) against
 * the member name and against every suffix of it that starts after a "/" (tar.c 0.8.9:166-176,
 * :231-235; 0.8.3:192-199; Android 10's pending/tar.c 0.8.0:153-160, :173-175), so a bare "cache"
 * would also drop "a/cache". A "./" start anchors it: only the whole name starts with "./" (no
 * member has a "." component in the middle). FNM_LEADING_DIR makes it cover the folder's
 * contents too, and without FNM_NOESCAPE a backslash makes fnmatch's * ? [ and \ literal.
 */
export function excludePattern(rel: string): string {
  return `./${rel.replace(/[\\*?[]/g, (c) => `\\${c}`)}`;
}
