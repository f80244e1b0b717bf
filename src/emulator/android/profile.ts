// The Android release an emulated phone answers as (`emulator --android 10|11|12|13|14`). One
// home for every per-release difference the emulator models; the sources behind each one are in
// docs/android-differences.md.

export const RELEASES = [10, 11, 12, 13, 14] as const;
export type AndroidRelease = (typeof RELEASES)[number];
export const DEFAULT_RELEASE: AndroidRelease = 14;

export interface AndroidProfile {
  release: AndroidRelease;
  /** ro.build.version.sdk */
  sdk: number;
  /** the toybox version that release ships (the emulator runs Debian's 0.8.9 and imitates the gaps) */
  toybox: string;
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
}

const SDK: Record<AndroidRelease, number> = { 10: 29, 11: 30, 12: 31, 13: 33, 14: 34 };
const TOYBOX: Record<AndroidRelease, string> = { 10: '0.8.0', 11: '0.8.3', 12: '0.8.4', 13: '0.8.6', 14: '0.8.9' };

export function profileFor(release: AndroidRelease): AndroidProfile {
  return {
    release,
    sdk: SDK[release],
    toybox: TOYBOX[release],
    dumpsAppIdAs: release >= 14 ? 'appId' : 'userId',
    suspendersPerPackage: release >= 11,
    dumpsSuspendParams: release >= 11,
    dumpsPerUserInstallPermissions: release >= 12,
    externalStorage: release >= 11 ? 'fuse' : 'sdcardfs',
    duHasApparentBytes: release >= 11,
    userZero: release >= 11 ? 'bind' : 'symlink',
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
