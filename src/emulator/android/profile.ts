// The Android release an emulated phone answers as (`emulator --android 10|11|12|13|14`). One
// home for every per-release difference the emulator models; the sources behind each one are in
// docs/android-differences.md.

import { type PackageManagerProfile, packageProfileFor } from './package-profile.ts';

export const RELEASES = [10, 11, 12, 13, 14] as const;
export type AndroidRelease = (typeof RELEASES)[number];
export const DEFAULT_RELEASE: AndroidRelease = 14;

export interface AndroidProfile {
  release: AndroidRelease;
  /** ro.build.version.sdk */
  sdk: number;
  /** the toybox version that release ships (the emulator runs Debian's 0.8.9 and imitates the gaps) */
  toybox: string;
  /** file_contexts types that changed between releases (file-contexts.ts has the rules) */
  fileContexts: {
    /** /data: 10 system_data_file (sepolicy lineage-17.1 private/file_contexts:426), 11+ system_data_root_file (lineage-18.1:472) */
    dataRoot: 'system_data_file' | 'system_data_root_file';
    /** /data/media itself: 10-13 media_rw_data_file (lineage-20.0:568), 14 media_userdir_file (lineage-21.0:598) */
    mediaRoot: 'media_rw_data_file' | 'media_userdir_file';
    /** /data/user and /data/user_de: 10-13 system_data_file, 14 system_userdir_file (lineage-21.0:620-621) */
    userRoots: 'system_data_file' | 'system_userdir_file';
    /** 11+: /system/etc/passwd and group have types of their own (lineage-18.1:319,321) */
    accountFiles: boolean;
    /** 14: /tmp is shell_data_file (lineage-21.0:57) */
    tmp: boolean;
  };
  /**
   * where ls -Z prints the context (toys/posix/ls.c): 0.8.0-0.8.1 `" %-*s"` inside the long format
   * (one space before the size), else `"%-*s "`; 0.8.2+ `" %-*s "+!FLAG(l)` (two spaces before the
   * size with -l, and glued to the group with -n/-o/-g alone)
   */
  lsContextFormat: '0.8.0' | '0.8.2';
  /** toybox quotes the option in "Unknown option 'x'" from 0.8.1+ (lib/args.c, commit 2eefbe41 2019-06-24) */
  quotesUnknownOption: boolean;
  /** /data/media/<user>: 10-11 0770, 12+ 02770 with a default ACL (vold FsCrypt.cpp lineage-18.1:871, lineage-19.1:867) */
  mediaUserMode: number;
  /**
   * [uid, gid, mode] of Android/, Android/data, Android/obb, Android/media in /data/media/<user>.
   * 11+: vold PrepareAndroidDirs (Utils.cpp lineage-21.0:1686-1722): 02771 media_rw, data/obb
   * with gid ext_data_rw/ext_obb_rw. 10: no vold code; sdcardfs makes them in the lower fs as
   * media_rw with mode 0775 (sdcardfs_mkdir `mode = (mode & S_IFMT) | 00775`, fixup_lower_ownership)
   */
  androidDirs: Record<'android' | 'data' | 'obb', [number, number, number]> & {
    media: [number, number, number] | null;
  };
  /** ro.build.id and ro.build.version.security_patch a new phone folder's build.prop gets (real Pixel builds) */
  build: { id: string; securityPatch: string };
  /** dumpsys package prints the app id as `appId=` (14+) instead of `userId=` */
  dumpsAppIdAs: 'userId' | 'appId';
  /** 11+: one suspension per suspending package; 10: a single suspender, any unsuspend lifts it */
  suspendersPerPackage: boolean;
  /** 11+: a suspended package's User block carries a `Suspend params:` section */
  dumpsSuspendParams: boolean;
  /** 12+: install permissions that differ for a secondary user print `…, userId=N` lines */
  dumpsPerUserInstallPermissions: boolean;
  /** 10: sdcardfs (external app folders owned media_rw); 11+: FUSE (uid:ext_data_rw / uid:ext_obb_rw, 02770) */
  externalStorage: 'sdcardfs' | 'fuse';
  /** 10: `du` has no -b (toybox 0.8.0) */
  duHasApparentBytes: boolean;
  /** 10: /data/user/0 is a symlink to /data/data; 11+: a bind mount of it */
  userZero: 'symlink' | 'bind';
  /** the package manager's own differences (pm, dumpsys package), kept in package-profile.ts */
  packages: PackageManagerProfile;
}

const SDK: Record<AndroidRelease, number> = { 10: 29, 11: 30, 12: 31, 13: 33, 14: 34 };
const TOYBOX: Record<AndroidRelease, string> = { 10: '0.8.0', 11: '0.8.3', 12: '0.8.4', 13: '0.8.6', 14: '0.8.9' };
const BUILD: Record<AndroidRelease, { id: string; securityPatch: string }> = {
  10: { id: 'QQ3A.200805.001', securityPatch: '2020-08-05' },
  11: { id: 'RQ3A.211001.001', securityPatch: '2021-10-01' },
  12: { id: 'SQ3A.220705.004', securityPatch: '2022-07-05' },
  13: { id: 'TQ3A.230901.001', securityPatch: '2023-09-01' },
  14: { id: 'UQ1A.240205.004', securityPatch: '2024-02-05' },
};
const MEDIA_RW = 1023;
const EXT_DATA_RW = 1078;
const EXT_OBB_RW = 1079;

export function profileFor(release: AndroidRelease): AndroidProfile {
  return {
    release,
    sdk: SDK[release],
    toybox: TOYBOX[release],
    fileContexts: {
      dataRoot: release >= 11 ? 'system_data_root_file' : 'system_data_file',
      mediaRoot: release >= 14 ? 'media_userdir_file' : 'media_rw_data_file',
      userRoots: release >= 14 ? 'system_userdir_file' : 'system_data_file',
      accountFiles: release >= 11,
      tmp: release >= 14,
    },
    lsContextFormat: release >= 11 ? '0.8.2' : '0.8.0',
    quotesUnknownOption: release >= 11,
    mediaUserMode: release >= 12 ? 0o2770 : 0o770,
    androidDirs:
      release >= 11
        ? {
            android: [MEDIA_RW, MEDIA_RW, 0o2771],
            data: [MEDIA_RW, EXT_DATA_RW, 0o2771],
            obb: [MEDIA_RW, EXT_OBB_RW, 0o2771],
            media: [MEDIA_RW, MEDIA_RW, 0o2771],
          }
        : {
            android: [MEDIA_RW, MEDIA_RW, 0o775],
            data: [MEDIA_RW, MEDIA_RW, 0o775],
            obb: [MEDIA_RW, MEDIA_RW, 0o775],
            media: null,
          },
    build: BUILD[release],
    dumpsAppIdAs: release >= 14 ? 'appId' : 'userId',
    suspendersPerPackage: release >= 11,
    dumpsSuspendParams: release >= 11,
    dumpsPerUserInstallPermissions: release >= 12,
    externalStorage: release >= 11 ? 'fuse' : 'sdcardfs',
    duHasApparentBytes: release >= 11,
    userZero: release >= 11 ? 'bind' : 'symlink',
    packages: packageProfileFor(release),
  };
}

export function parseRelease(value: string): AndroidRelease {
  const n = Number(value);
  const found = RELEASES.find((r) => r === n);
  if (found === undefined || !/^\d+$/.test(value)) {
    throw new Error(`unsupported Android release ${JSON.stringify(value)}: expected one of ${RELEASES.join(', ')}`);
  }
  return found;
}
