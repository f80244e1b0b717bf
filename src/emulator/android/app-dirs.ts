import { promises as fsp } from 'node:fs';
import { partFolder } from '../../android/layout.ts';
import { AID } from './accounts.ts';
import type { ExternalKind } from './package-profile.ts';
import type { AndroidProfile } from './profile.ts';
import type { PhoneRoot } from './root-path.ts';
import { appDataContext } from './seapp.ts';
import { cacheGidOf, uidOf } from './users.ts';

// An app's folders for one user, as installd and vold make them. CE and DE data: owned by the
// app's uid for that user, 0700, with cache and code_cache in the cache gid, 02771
// (InstalledNativeService::createAppData). External data, OBB and media under /data/media/<user>:
// not made at install (the app or vold makes them on first use) but removed on uninstall.

export const ceDir = (user: number, pkg: string) => partFolder(pkg, 'ce', user);
export const deDir = (user: number, pkg: string) => partFolder(pkg, 'de', user);
export const externalDir = (user: number, pkg: string) => partFolder(pkg, 'external', user);
export const obbDir = (user: number, pkg: string) => partFolder(pkg, 'obb', user);
export const mediaDir = (user: number, pkg: string) => partFolder(pkg, 'media', user);

export interface Owner {
  uid: number;
  gid: number;
  /** mode of folders; files are made by whoever writes them */
  mode: number;
}

/** owner of a per-app external folder (profile.packages.externalAppDirs) */
export function externalOwner(profile: AndroidProfile, kind: ExternalKind, uid: number): Owner {
  const rule = profile.packages.externalAppDirs;
  return { uid: rule.uid === 'app' ? uid : rule.uid, gid: rule.gid[kind], mode: rule.mode };
}

/** a file an app writes into its external folder: the folder's owner, and the writer's mode unless the profile forces one */
export function externalFileOwner(profile: AndroidProfile, kind: ExternalKind, uid: number, mode: number): Owner {
  return { ...externalOwner(profile, kind, uid), mode: profile.packages.externalAppDirs.fileMode ?? mode };
}

/**
 * A user's storage roots: /data/user/<n> and /data/user_de/<n> (system 0771, as for user 0), and
 * /data/media/<n> with its Android/ folders as the profile has them (profile.mediaUserMode and
 * profile.androidDirs: vold PrepareAndroidDirs on 11+, sdcardfs on 10). Folders that exist
 * already are left as they are.
 */
export async function prepareUserStorage(phone: PhoneRoot, profile: AndroidProfile, user: number): Promise<void> {
  const { android, data, obb, media } = profile.androidDirs;
  const dirs: [string, number, number, number][] = [
    [`/data/user/${user}`, AID.system, AID.system, 0o771],
    [`/data/user_de/${user}`, AID.system, AID.system, 0o771],
    [`/data/media/${user}`, AID.mediaRw, AID.mediaRw, profile.mediaUserMode],
    [`/data/media/${user}/Android`, ...android],
    [`/data/media/${user}/Android/data`, ...data],
    [`/data/media/${user}/Android/obb`, ...obb],
  ];
  if (media) dirs.push([`/data/media/${user}/Android/media`, ...media]);
  for (const [dir, uid, gid, mode] of dirs) {
    // follow the last link: on Android 10 /data/user/0 is a link to /data/data, a folder all the same
    const st = await fsp.stat(await phone.resolve(dir)).catch(() => null);
    if (!st?.isDirectory()) await phone.ensureDir(dir, uid, gid, mode);
  }
}

/**
 * installd createAppData for one user: CE and DE folders with cache and code_cache, labelled
 * with the seapp context of the app's uid for that user (libselinux seapp_context_lookup via
 * seapp.ts appDataContext: app_data_file with the app's and user's MLS categories when
 * targetSdk >= 28) as restorecon_app_data_lazy does (frameworks/native/cmds/installd/
 * InstalldNativeService.cpp): a folder that did not exist is labelled recursively, one that did
 * only at the top, and recursively only when that changed its label. An update therefore does
 * not walk an app's data whose label is already right, which on a real phone "can save us
 * significant time by avoiding no-op traversals of large filesystem trees" (its comment).
 */
export async function createAppDirs(
  phone: PhoneRoot,
  user: number,
  pkg: string,
  appId: number,
  targetSdk: number,
): Promise<void> {
  const uid = uidOf(user, appId);
  const cacheGid = cacheGidOf(user, appId);
  const context = appDataContext(uid, user, targetSdk);
  for (const dir of [ceDir(user, pkg), deDir(user, pkg)]) {
    // access(path, F_OK) before prepare_app_dir, as createAppData decides `existing`
    const existing = await fsp.stat(await phone.resolve(dir)).then(
      () => true,
      () => false,
    );
    await phone.ensureDir(dir, uid, uid, 0o700);
    await phone.ensureDir(`${dir}/cache`, uid, cacheGid, 0o2771);
    await phone.ensureDir(`${dir}/code_cache`, uid, cacheGid, 0o2771);
    for (const sub of [dir, `${dir}/cache`, `${dir}/code_cache`]) {
      if (existing && (await phone.labels.get(sub)) === context) continue;
      await phone.labels.setRecursive(sub, context);
    }
  }
}

/** gives a folder of app data, and everything in it, the app's context */
export async function labelAppData(phone: PhoneRoot, dir: string, uid: number, user: number, targetSdk: number) {
  await phone.labels.setRecursive(dir, appDataContext(uid, user, targetSdk));
}

/** installd destroyAppData with FLAG_STORAGE_CE|DE|EXTERNAL for one user */
export async function removeAppDirs(phone: PhoneRoot, user: number, pkg: string): Promise<void> {
  for (const dir of [
    ceDir(user, pkg),
    deDir(user, pkg),
    externalDir(user, pkg),
    obbDir(user, pkg),
    mediaDir(user, pkg),
  ]) {
    await phone.remove(dir);
  }
}

/** external data and OBB folders as vold makes them when the app first asks for them */
export async function createExternalDirs(
  phone: PhoneRoot,
  profile: AndroidProfile,
  user: number,
  pkg: string,
  uid: number,
) {
  for (const [kind, dir] of [
    ['data', externalDir(user, pkg)],
    ['obb', obbDir(user, pkg)],
  ] as const) {
    const o = externalOwner(profile, kind, uid);
    await phone.ensureDir(dir, o.uid, o.gid, o.mode);
  }
}
