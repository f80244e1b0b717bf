import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { ceDir } from '../app-dirs.ts';
import type { CodeRecord, PackageRecord } from '../package-records.ts';
import type { PackageService } from '../package-service.ts';
import { dumpUser, installPermissionLines } from './dumpsys-permissions.ts';

// One `Package [<pkg>]` block of `dumpsys package`, line by line after Settings.dumpPackageLPr of
// each release (A10 aosp-mirror@00bcec7c ≈ char 205000-223000; A11 Ankits-lab@150a9240
// l.4574-4985; A12-A14 per docs/android-differences.md; fixtures test/fixtures/android/).
// The per-release lines are switched by profile.packages.lines.

/** Integer.toHexString(System.identityHashCode(x)): stable per object here */
export const identityHash = (s: string) =>
  Number.parseInt(createHash('sha1').update(s).digest('hex').slice(0, 8), 16).toString(16);

/** SimpleDateFormat("yyyy-MM-dd HH:mm:ss") in the phone's zone (UTC) */
export const dumpTime = (ms: number) => new Date(ms).toISOString().replace('T', ' ').slice(0, 19);

/** ApplicationInfo.FLAG_* in Settings.FLAG_DUMP_SPEC order */
function appFlags(p: PackageRecord, code: CodeRecord): string {
  const flags = [
    p.system !== null && 'SYSTEM',
    code.hasCode && 'HAS_CODE',
    'ALLOW_CLEAR_USER_DATA',
    p.system !== null && code.path !== p.system.path && 'UPDATED_SYSTEM_APP',
    code.allowBackup && 'ALLOW_BACKUP',
  ].filter(Boolean);
  return `[ ${flags.map((f) => `${f} `).join('')}]`;
}

/** ApplicationInfo.PRIVATE_FLAG_* defaults of a targetSdk 29+ app (no native code, not privileged) */
function privateFlags(service: PackageService, code: CodeRecord): string {
  const flags = ['PRIVATE_FLAG_ACTIVITIES_RESIZE_MODE_RESIZEABLE_VIA_SDK_VERSION'];
  if (code.targetSdk >= 29) flags.push('ALLOW_AUDIO_PLAYBACK_CAPTURE');
  if (service.profile.release >= 11) flags.push('PRIVATE_FLAG_ALLOW_NATIVE_HEAP_POINTER_TAGGING');
  return `[ ${flags.map((f) => `${f} `).join('')}]`;
}

/** the block of a package; `code` is the system copy for `Hidden system packages:` */
export async function dumpPackage(service: PackageService, p: PackageRecord, code = p.code): Promise<string> {
  const { profile } = service;
  const lines = profile.packages.lines;
  const hidden = code !== p.code;
  const installer = hidden ? null : p.installer;
  const out = [
    `  Package [${p.name}] (${identityHash(p.name + code.path)}):`,
    `    ${profile.dumpsAppIdAs}=${p.appId}`,
  ];
  if (p.sharedUser)
    out.push(`    sharedUser=SharedUserSetting{${identityHash(p.sharedUser)} ${p.sharedUser}/${p.appId}}`);
  out.push(
    `    pkg=${hidden && profile.packages.hiddenCopy === 'no-pkg' ? 'null' : `Package{${identityHash(code.path)} ${p.name}}`}`,
    `    codePath=${code.path}`,
    `    resourcePath=${code.path}`,
    `    legacyNativeLibraryDir=${code.path}/lib`,
  );
  if (lines.abiDetails) out.push('    extractNativeLibs=false');
  out.push('    primaryCpuAbi=null', '    secondaryCpuAbi=null');
  if (lines.abiDetails) out.push('    cpuAbiOverride=null');
  // A10's /system copy of an updated app has no parsed package: the `if (pkg != null)` lines go
  const parsed = !(hidden && profile.packages.hiddenCopy === 'no-pkg');
  out.push(`    versionCode=${code.versionCode}${parsed ? ` minSdk=${code.minSdk} targetSdk=${code.targetSdk}` : ''}`);
  if (parsed) out.push(...parsedLines(service, p, code));
  out.push(`    timeStamp=${dumpTime(p.lastUpdateTime)}`);
  if (!profile.packages.perUserInstallInfo) out.push(`    firstInstallTime=${dumpTime(p.firstInstallTime)}`);
  out.push(`    lastUpdateTime=${dumpTime(p.lastUpdateTime)}`);
  if (installer !== null || lines.installSourceDetails) out.push(`    installerPackageName=${installer}`);
  if (lines.installSourceDetails) {
    const installerRecord = installer === null ? undefined : service.db.get(installer);
    out.push(
      `    installerPackageUid=${installerRecord ? installerRecord.appId : -1}`,
      `    initiatingPackageName=${hidden ? null : p.initiator}`,
      '    originatingPackageName=null',
    );
  }
  if (lines.packageSource) out.push('    packageSource=0');
  if (lines.installSourceDetails) out.push('    appMetadataFilePath=null');
  out.push(
    `    signatures=PackageSignatures{${identityHash(code.signerDigest)} version:${code.signatureScheme}, signatures:[${code.signerDigest.slice(0, 8)}], past signatures:[]}`,
    '    installPermissionsFixed=true',
    `    pkgFlags=${appFlags(p, code)}`,
  );
  if (lines.installSourceDetails)
    out.push(`    privatePkgFlags=${privateFlags(service, code)}`, '    apexModuleName=null');
  if (parsed && code.requestedPermissions.length > 0) {
    out.push('    requested permissions:', ...code.requestedPermissions.map((perm) => `      ${perm}`));
  }
  // printed also for a shared-UID package: dumpAll is true when a package is named
  out.push(...installPermissionLines(service, p.appId, '    '));
  // 10-11: the /system copy's own PermissionsState holds no runtime grants
  const ownState = hidden && profile.packages.hiddenCopy !== 'appid-permissions';
  for (const user of service.users()) {
    const inode = await service.phone
      .resolve(ceDir(user.id, p.name))
      .then((h) => fsp.stat(h))
      .then(
        (s) => s.ino,
        () => 0,
      );
    out.push(...dumpUser(service, p, user.id, inode, ownState));
  }
  return `${out.join('\n')}\n`;
}

/** the lines Settings.dumpPackageLPr prints only for a parsed package (`if (pkg != null)`) */
function parsedLines(service: PackageService, p: PackageRecord, code: CodeRecord): string[] {
  const lines = service.profile.packages.lines;
  const out: string[] = [];
  if (lines.abiDetails) out.push('    minExtensionVersions=[]');
  out.push(`    versionName=${code.versionName}`);
  if (lines.abiDetails) out.push('    usesNonSdkApi=false');
  out.push(
    `    splits=[base${code.splits.map((s) => `, ${s}`).join('')}]`,
    `    apkSigningVersion=${code.signatureScheme}`,
  );
  if (lines.applicationInfo)
    out.push(`    applicationInfo=ApplicationInfo{${identityHash(`${p.appId}${p.name}`)} ${p.name}}`);
  out.push(`    flags=${appFlags(p, code)}`, `    privateFlags=${privateFlags(service, code)}`);
  if (lines.forceQueryable) out.push('    forceQueryable=false');
  if (lines.emptyQueriesPackages) out.push('    queriesPackages=[]');
  out.push(
    `    dataDir=${ceDir(0, p.name)}`,
    '    supportsScreens=[small, medium, large, xlarge, resizeable, anyDensity]',
  );
  return out;
}
