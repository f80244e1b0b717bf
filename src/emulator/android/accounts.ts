import { AID_APP_START, AID_CACHE_GID_START } from '../../android/layout.ts';
import { appIdOf, cacheGidOf, userOf } from './users.ts';

// Android ids (system/core/libcutils/include/private/android_filesystem_config.h). bionic
// computes the names; the host's libc behind toybox reads /etc/passwd and /etc/group instead,
// so those files list them and the apps' uN_aM / uN_aM_cache names (every user), for `ls -l` and `id`.

export const AID = {
  root: 0,
  system: 1000,
  mediaRw: 1023,
  extDataRw: 1078,
  extObbRw: 1079,
  shell: 2000,
  appStart: AID_APP_START,
  cacheGidStart: AID_CACHE_GID_START,
} as const;

const SYSTEM_IDS: [string, number][] = [
  ['root', 0],
  ['system', 1000],
  ['radio', 1001],
  ['bluetooth', 1002],
  ['graphics', 1003],
  ['input', 1004],
  ['audio', 1005],
  ['camera', 1006],
  ['log', 1007],
  ['adb', 1011],
  ['install', 1012],
  ['media', 1013],
  ['sdcard_rw', 1015],
  ['media_rw', 1023],
  ['ext_data_rw', 1078],
  ['ext_obb_rw', 1079],
  ['shell', 2000],
  ['cache', 2001],
  ['everybody', 9997],
  ['nobody', 9999],
];

/** installd's cache gid for an app uid of any user (multiuser_get_cache_gid) */
export const cacheGid = (uid: number) => cacheGidOf(userOf(uid), appIdOf(uid));

/** bionic's names: u<user>_a<appId - 10000>, and <that>_cache for the cache gid */
export function accountFiles(appUids: number[]): { passwd: string; group: string } {
  const users: [string, number][] = [...SYSTEM_IDS];
  const groups: [string, number][] = [...SYSTEM_IDS];
  for (const uid of [...new Set(appUids)].sort((a, b) => a - b)) {
    if (appIdOf(uid) < AID.appStart) continue;
    const name = `u${userOf(uid)}_a${appIdOf(uid) - AID.appStart}`;
    users.push([name, uid]);
    groups.push([name, uid], [`${name}_cache`, cacheGid(uid)]);
  }
  return {
    passwd: users.map(([n, id]) => `${n}:x:${id}:${id}::/:/system/bin/sh\n`).join(''),
    group: groups.map(([n, id]) => `${n}:x:${id}:\n`).join(''),
  };
}
