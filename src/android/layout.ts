// Where an app's data lives on Android, by the archive part that holds it (one home for these
// paths: the device layer, the backup, the restore and the archive's entry rules all use it).
// A backup covers user 0; the emulated phone has other users' folders too. /data/user/0 is also reachable as /data/data
// (a symlink on Android 10, a bind mount on 11+) and external storage as /sdcard and
// /storage/emulated/0; links that apps keep into their own folders may use any of these.

export const DATA_PARTS = ['ce', 'de', 'external', 'obb', 'media'] as const;
export type DataPart = (typeof DATA_PARTS)[number];

/** parts on shared (external) storage: owned by the app but grouped and labelled as their parent */
export const isExternalPart = (part: DataPart) => part === 'external' || part === 'obb' || part === 'media';

export const BACKUP_USER = 0;

export function partFolder(pkg: string, part: DataPart, user = BACKUP_USER): string {
  switch (part) {
    case 'ce':
      return `/data/user/${user}/${pkg}`;
    case 'de':
      return `/data/user_de/${user}/${pkg}`;
    case 'external':
      return `/data/media/${user}/Android/data/${pkg}`;
    case 'obb':
      return `/data/media/${user}/Android/obb/${pkg}`;
    case 'media':
      // app-specific media (Context.getExternalMediaDirs), e.g. a messenger's received photos
      return `/data/media/${user}/Android/media/${pkg}`;
  }
}

/** every spelling of the app's own folders, for the rule that links must stay inside them */
export function appFolders(pkg: string): string[] {
  const shared = ['/sdcard', '/storage/emulated/0'].flatMap((s) =>
    ['data', 'obb', 'media'].map((d) => `${s}/Android/${d}/${pkg}`),
  );
  return [...DATA_PARTS.map((p) => partFolder(pkg, p)), `/data/data/${pkg}`, ...shared];
}

/** user 0's shared storage (what /sdcard shows), whose Android/ folder holds the apps' external parts */
export const SHARED_STORAGE = `/data/media/${BACKUP_USER}`;
/** the apps' folders in shared storage, relative to it: a whole-instance backup holds them as app parts */
export const SHARED_APP_FOLDERS = ['Android/data', 'Android/obb', 'Android/media'];

/** cache and code_cache are given to the cache gid by installd */
export const CACHE_DIRS = ['cache', 'code_cache'];

// system/core/libcutils/include/private/android_filesystem_config.h: AID_APP_START 10000,
// AID_CACHE_GID_START 20000, AID_USER_OFFSET 100000
export const AID_APP_START = 10000;
export const AID_CACHE_GID_START = 20000;
export const AID_USER_OFFSET = 100000;

/**
 * installd's cache gid (InstalledNativeService.cpp: multiuser_get_cache_gid); for uids that are not
 * app uids (a system app sharing android.uid.system) it is -1 and installd uses the uid itself.
 */
export function cacheGid(uid: number): number {
  const appId = uid % AID_USER_OFFSET;
  if (appId < AID_APP_START || appId > 19999) return uid;
  return Math.floor(uid / AID_USER_OFFSET) * AID_USER_OFFSET + (appId - AID_APP_START) + AID_CACHE_GID_START;
}

/** the uid a package with this app id has for a user (UserHandle.getUid) */
export const uidFor = (appId: number, user: number) => user * AID_USER_OFFSET + (appId % AID_USER_OFFSET);
