import type { AndroidRelease } from './profile.ts';

// What the package manager of each release prints or does differently, beyond the fields
// profile.ts already has. Sources (frameworks/base, services/core/java/com/android/server/pm):
// Settings.java dumpPackageLPr of A10 aosp-mirror@00bcec7c, A11 Ankits-lab@150a9240 (lines
// 4574-4985), A15 AxionAOSP@71a5204b, and the A12-A14 mirrors listed in docs/android-differences.md.

export type ExternalKind = 'data' | 'obb' | 'media';

export interface PackageManagerProfile {
  /**
   * where an installed app's code goes: 10 `/data/app/<pkg>-<rand>==`; 11+ a randomized parent
   * `/data/app/~~<rand>==/<pkg>-<rand>==` (PackageManagerServiceUtils.getNextCodePath)
   */
  codeLayout: 'flat' | 'nested';
  /** permissionFlagsToString: 10 `[ A B ]` (each flag followed by a space), 11+ `[ A|B]` */
  permissionFlagsJoin: ' ' | '|';
  /** 11+: `distractionFlags=` on the User line (A10's dump code has none) */
  userLineDistractionFlags: boolean;
  /** 13+: installReason=, firstInstallTime=, uninstallReason= lines under each User line, and no package-level firstInstallTime= */
  perUserInstallInfo: boolean;
  /** package block lines some releases print */
  lines: {
    /** 10-12 `applicationInfo=ApplicationInfo{…}` */
    applicationInfo: boolean;
    /** 11+ `forceQueryable=false` */
    forceQueryable: boolean;
    /** 11-12 print `queriesPackages=[]` when the list is EMPTY (an inverted test, A11 Settings.java:4690) */
    emptyQueriesPackages: boolean;
    /** 12+ extractNativeLibs=, cpuAbiOverride=, minExtensionVersions=[], usesNonSdkApi= */
    abiDetails: boolean;
    /** 13+ `packageSource=0` */
    packageSource: boolean;
    /** 14 `installerPackageName=` even when null, installerPackageUid=, initiatingPackageName=, originatingPackageName=, appMetadataFilePath=, privatePkgFlags=, apexModuleName= */
    installSourceDetails: boolean;
  };
  /**
   * the /system copy of an updated system app under `Hidden system packages:`: 10 a PackageSetting
   * without a parsed package (`pkg=null`, none of the `if (pkg != null)` lines) and 10-11 its own
   * PermissionsState, which holds no runtime grants; 12+ the appId's shared state (Settings.java
   * getLegacyPermissionState(ps.getAppId())). As test/fixtures/android/dumpsys-system-*.txt have
   * it; the researcher marks these blocks lower confidence.
   */
  hiddenCopy: 'no-pkg' | 'own-permissions' | 'appid-permissions';
  /**
   * owner and mode of an app's own external folders Android/{data,obb,media}/<pkg>. 11+ (FUSE):
   * vold Utils.cpp PrepareAppDirFromRoot (LineageOS android_system_vold@f81d91f9 l.301-360): the
   * app's uid, gid ext_data_rw (1078) / ext_obb_rw (1079) / media_rw (1023), 02770; what the app
   * writes there is its own. 10 (sdcardfs): the lower filesystem holds only what sdcardfs writes,
   * media_rw:media_rw, folders 0775 and files 0664 (fs/sdcardfs/inode.c sdcardfs_mkdir/create
   * force those modes; from the kernel source as remembered, not re-read here)
   */
  externalAppDirs: {
    uid: 'app' | number;
    gid: Record<ExternalKind, number>;
    mode: number;
    /** the mode every file gets, or null when the writer's own mode stands */
    fileMode: number | null;
  };
  /** UserInfo flags of the work profile: MANAGED_PROFILE|INITIALIZED (0x30), plus PROFILE (0x1000, added in 11) */
  workProfileFlags: number;
  /**
   * pm grant/revoke: 10-11 BasePermission.enforceDeclaredUsedAndRuntimeOrDevelopment checks "has not
   * requested" before "not a changeable permission type"; 12+ PermissionManagerServiceImpl the other way
   */
  grantChecksTypeFirst: boolean;
  /**
   * initiating package of a root/shell install: 14 PackageInstallerService.createSessionInternal sets
   * SHELL_PACKAGE_NAME; 11 sets null (PackageInstallerService.java:524). Only 14 prints it.
   */
  shellInitiator: string | null;
}

export function packageProfileFor(release: AndroidRelease): PackageManagerProfile {
  return {
    codeLayout: release >= 11 ? 'nested' : 'flat',
    permissionFlagsJoin: release >= 11 ? '|' : ' ',
    userLineDistractionFlags: release >= 11,
    perUserInstallInfo: release >= 13,
    lines: {
      applicationInfo: release <= 12,
      forceQueryable: release >= 11,
      emptyQueriesPackages: release === 11 || release === 12,
      abiDetails: release >= 12,
      packageSource: release >= 13,
      installSourceDetails: release >= 14,
    },
    externalAppDirs:
      release >= 11
        ? { uid: 'app', gid: { data: 1078, obb: 1079, media: 1023 }, mode: 0o2770, fileMode: null }
        : { uid: 1023, gid: { data: 1023, obb: 1023, media: 1023 }, mode: 0o775, fileMode: 0o664 },
    hiddenCopy: release >= 12 ? 'appid-permissions' : release === 11 ? 'own-permissions' : 'no-pkg',
    workProfileFlags: release >= 11 ? 0x1030 : 0x30,
    grantChecksTypeFirst: release >= 12,
    shellInitiator: release >= 14 ? 'com.android.shell' : null,
  };
}
