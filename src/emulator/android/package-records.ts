import { z } from 'zod';
import { PACKAGE_NAME } from '../../android/names.ts';
import type { ApkInfo } from '../../apk/apk-info.ts';
import type { ApkExtras } from './apk-extras.ts';
import { FIRST_APPLICATION_UID } from './users.ts';

// The records of the package database (the emulator's packages.xml + package-restrictions.xml +
// runtime-permissions.xml): one per package with its code and per-user state, the shared users,
// and permission states per appId and user, which is where Android keeps them (a shared-UID
// pair shares one set: Settings.dumpSharedUsersLPr prints them once, under the shared user).

/** /data/app/<pkg>-<rand>== (10), /data/app/~~<rand>==/<pkg>-<rand>== (11+), /system/app/<Name> */
const CODE_PATH =
  /^(\/data\/app\/(~~[A-Za-z0-9_-]+==\/)?[A-Za-z0-9_.]+-[A-Za-z0-9_-]+==|\/system\/app\/[A-Za-z0-9_.-]+)$/;

export const codeRecord = z.object({
  path: z.string().regex(CODE_PATH),
  /** file names in path: base.apk then split_<name>.apk; a system app's own <Name>.apk */
  apks: z.array(z.string().regex(/^[A-Za-z0-9_.-]+\.apk$/)).min(1),
  splits: z.array(z.string()),
  versionCode: z.number().int().nonnegative(),
  versionName: z.string(),
  minSdk: z.number().int(),
  targetSdk: z.number().int(),
  signerDigest: z.string().regex(/^[0-9a-f]{64}$/),
  signatureScheme: z.number().int().min(1).max(3),
  requestedPermissions: z.array(z.string()),
  /** declares an activity answering the HOME intent (a launcher) */
  home: z.boolean(),
  /** <application android:hasCode>, android:allowBackup */
  hasCode: z.boolean(),
  allowBackup: z.boolean(),
});

export const userState = z.object({
  installed: z.boolean(),
  hidden: z.boolean(),
  stopped: z.boolean(),
  notLaunched: z.boolean(),
  /** suspending packages, in the order they suspended it (one at most on Android 10) */
  suspendedBy: z.array(z.string()),
  installReason: z.number().int(),
  uninstallReason: z.number().int(),
  firstInstallTime: z.number(),
});

export const packageRecord = z.object({
  name: z.string().regex(PACKAGE_NAME),
  appId: z.number().int().min(FIRST_APPLICATION_UID).max(19999),
  /** android:sharedUserId */
  sharedUser: z.string().regex(PACKAGE_NAME).nullable(),
  code: codeRecord,
  /** false after `pm uninstall -k` removed it for every user: code gone, data and appId kept */
  codeInstalled: z.boolean(),
  /** the factory copy of a system app, also while an update in /data/app replaces it */
  system: codeRecord.nullable(),
  installer: z.string().nullable(),
  /** InstallSource.initiatingPackageName */
  initiator: z.string().nullable(),
  firstInstallTime: z.number(),
  lastUpdateTime: z.number(),
  users: z.record(z.string().regex(/^\d+$/), userState),
});

export const permissionState = z.object({ granted: z.boolean(), flags: z.number().int().nonnegative() });

export const dbFile = z.object({
  version: z.literal(2),
  /** appIds are never reused on one phone */
  nextAppId: z.number().int().min(0),
  packages: z.array(packageRecord),
  sharedUsers: z.array(z.object({ name: z.string().regex(PACKAGE_NAME), appId: z.number().int() })),
  /** appId → user → permission → state */
  permissions: z.record(z.string(), z.record(z.string(), z.record(z.string(), permissionState))),
});

export type CodeRecord = z.infer<typeof codeRecord>;
export type UserState = z.infer<typeof userState>;
export type PackageRecord = z.infer<typeof packageRecord>;
export type PermissionState = z.infer<typeof permissionState>;
export type DbFile = z.infer<typeof dbFile>;

/** a user's state for a package it does not have (Settings.createNewSetting's defaults) */
export function absentUser(): UserState {
  return {
    installed: false,
    hidden: false,
    stopped: true,
    notLaunched: true,
    suspendedBy: [],
    installReason: 0,
    uninstallReason: 0,
    firstInstallTime: 0,
  };
}

export const isSystemApp = (p: PackageRecord) => p.system !== null;
export const isUpdatedSystemApp = (p: PackageRecord) => p.system !== null && p.system.path !== p.code.path;
export const userStateOf = (p: PackageRecord, user: number): UserState => p.users[String(user)] ?? absentUser();
export const isInstalledFor = (p: PackageRecord, user: number) => p.codeInstalled && userStateOf(p, user).installed;

/** what a package's code folder holds, from its base APK (PackageParser's view of it) */
export function codeRecordOf(
  base: ApkInfo & ApkExtras,
  path: string,
  apks: { name: string; split: string | null }[],
): CodeRecord {
  return {
    path,
    apks: apks.map((a) => a.name),
    splits: apks.flatMap((a) => (a.split === null ? [] : [a.split])),
    versionCode: base.versionCode,
    versionName: base.versionName,
    minSdk: base.minSdk,
    targetSdk: base.targetSdk,
    signerDigest: base.signerDigest as string,
    signatureScheme: base.signatureScheme ?? 1,
    requestedPermissions: base.permissions,
    home: base.home,
    hasCode: base.hasCode,
    allowBackup: base.allowBackup,
  };
}
