import { AID_APP_START, AID_USER_OFFSET } from '../../android/layout.ts';

// The SELinux context of an app's data folders, as installd gets it from seapp_contexts through
// libselinux (topjohnwu/selinux @81d604a9, an AOSP mirror: libselinux/src/android/android_seapp.c).
//
// seapp_context_lookup_internal (android_seapp.c:842-856) splits the uid into userid = uid / 100000
// and appid = uid % 100000 - AID_APP_START(10000) for apps, and set_range_from_level (:695-720)
// turns levelFrom into MLS categories:
//   user: s0:c<512+(userid&0xff)>,c<768+((userid>>8)&0xff)>
//   all:  s0:c<appid&0xff>,c<256+((appid>>8)&0xff)>,c<512+(userid&0xff)>,c<768+((userid>>8)&0xff)>
// Ordinary (untrusted) apps match, in private/seapp_contexts of every release 10-14
// (LineageOS/android_system_sepolicy lineage-17.1:160-163 … lineage-21.0:218-224):
//   user=_app minTargetSdkVersion=28 … type=app_data_file levelFrom=all
//   user=_app …                          type=app_data_file levelFrom=user   (targetSdk < 28)
// Privileged and platform apps (privapp_data_file, levelFrom=user) are not modelled: the emulator
// installs user apps only.

const PER_USER_RANGE = AID_USER_OFFSET;

export type LevelFrom = 'none' | 'app' | 'user' | 'all';

/** the MLS level set_range_from_level gives an app id (0-based, uid - 10000) and a user */
export function levelFor(levelFrom: LevelFrom, appId: number, userId: number): string {
  const app = `c${appId & 0xff},c${256 + ((appId >> 8) & 0xff)}`;
  const user = `c${512 + (userId & 0xff)},c${768 + ((userId >> 8) & 0xff)}`;
  if (levelFrom === 'app') return `s0:${app}`;
  if (levelFrom === 'user') return `s0:${user}`;
  if (levelFrom === 'all') return `s0:${app},${user}`;
  return 's0';
}

/**
 * the context of an app's CE and DE data folders and everything in them; `uid` may be the app id
 * (10123) or a full uid (1010123), `userId` is the user the folder belongs to
 */
export function appDataContext(uid: number, userId: number, targetSdk: number): string {
  const appId = (uid % PER_USER_RANGE) - AID_APP_START;
  if (appId < 0 || appId >= 10000) throw new Error(`not an application uid: ${uid}`);
  const levelFrom: LevelFrom = targetSdk >= 28 ? 'all' : 'user';
  return `u:object_r:app_data_file:${levelFor(levelFrom, appId, userId)}`;
}

/** what restorecon needs to know of a package (libselinux reads it from /data/system/packages.list) */
export interface AppLabelInfo {
  uid: number;
  targetSdk: number;
}

/** the package database's answer for a package name, undefined when it has no such package */
export type AppLookup = (pkg: string) => AppLabelInfo | undefined;
