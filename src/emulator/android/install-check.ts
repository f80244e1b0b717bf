import { type ApkInfo, readApkInfo } from '../../apk/apk-info.ts';
import { type ApkExtras, readApkExtras } from './apk-extras.ts';
import type { SessionParams } from './install-session.ts';
import type { PackageRecord } from './package-db.ts';

// The checks a session commit makes before anything is installed, with the package manager's
// failure codes (PackageManager.INSTALL_FAILED_* / INSTALL_PARSE_FAILED_*).

export class InstallFailure extends Error {}

export interface StagedApk {
  /** as the phone sees it, for messages */
  phonePath: string;
  hostPath: string;
}

export interface InstallPlan {
  base: ApkInfo & ApkExtras;
  /** the new APK set: final name (base.apk, split_<name>.apk) → host path of its bytes */
  apks: { name: string; hostPath: string; split: string | null }[];
}

export interface Installed {
  record: PackageRecord;
  /** its current APKs, for -p sessions that inherit them */
  apks: StagedApk[];
}

export async function checkInstall(
  staged: StagedApk[],
  params: SessionParams,
  lookup: (pkg: string) => Promise<Installed | undefined>,
): Promise<InstallPlan & { existing: Installed | undefined }> {
  if (staged.length === 0) throw new InstallFailure('INSTALL_FAILED_INVALID_APK: No packages staged');
  const parsed: { apk: StagedApk; info: ApkInfo }[] = [];
  for (const apk of staged) {
    const info = await readApkInfo(apk.hostPath).catch((err: Error) => {
      throw new InstallFailure(`INSTALL_FAILED_INVALID_APK: Failed to parse ${apk.phonePath}: ${err.message}`);
    });
    if (!info.signerDigest) {
      throw new InstallFailure(
        `INSTALL_PARSE_FAILED_NO_CERTIFICATES: Failed to collect certificates from ${apk.phonePath}: no signature found`,
      );
    }
    parsed.push({ apk, info });
  }
  const existing = await lookup(params.inheritFrom ?? (parsed[0]?.info.packageName as string));
  if (params.inheritFrom !== null) {
    if (!existing?.record.codeInstalled) {
      throw new InstallFailure(`INSTALL_FAILED_MISSING_SPLIT: Missing existing base package for ${params.inheritFrom}`);
    }
    const replaced = new Set(parsed.map((p) => p.info.split));
    for (const apk of existing.apks) {
      const info = await readApkInfo(apk.hostPath);
      if (!replaced.has(info.split)) parsed.push({ apk, info });
    }
  }

  const first = parsed[0]?.info as ApkInfo;
  const seen = new Set<string | null>();
  for (const { apk, info } of parsed) {
    const fail = (what: string) => {
      throw new InstallFailure(`INSTALL_FAILED_INVALID_APK: Inconsistent ${what} in ${apk.phonePath}`);
    };
    if (info.packageName !== first.packageName) fail(`package ${info.packageName}; expected ${first.packageName}`);
    if (info.versionCode !== first.versionCode) fail(`version ${info.versionCode}; expected ${first.versionCode}`);
    if (info.signerDigest !== first.signerDigest) fail('signing certificates');
    if (seen.has(info.split)) {
      throw new InstallFailure(`INSTALL_FAILED_INVALID_APK: Split ${info.split ?? 'base'} was defined multiple times`);
    }
    seen.add(info.split);
  }
  const baseApk = parsed.find((p) => p.info.split === null);
  if (!baseApk) throw new InstallFailure('INSTALL_FAILED_INVALID_APK: Full install must include a base package');
  const base = { ...baseApk.info, ...(await readApkExtras(baseApk.apk.hostPath)) };
  if (base.isSplitRequired && parsed.length === 1) {
    throw new InstallFailure(`INSTALL_FAILED_MISSING_SPLIT: Missing split for ${base.packageName}`);
  }
  if (existing) {
    const { code } = existing.record;
    if (code.signerDigest !== base.signerDigest) {
      throw new InstallFailure(
        `INSTALL_FAILED_UPDATE_INCOMPATIBLE: Package ${base.packageName} signatures do not match previously installed version; ignoring!`,
      );
    }
    if (base.versionCode < code.versionCode && !params.allowDowngrade) {
      throw new InstallFailure(
        `INSTALL_FAILED_VERSION_DOWNGRADE: Downgrade detected: Update version code ${base.versionCode} is older than current ${code.versionCode}`,
      );
    }
    // PackageManagerService.preparePackageLI (A11 l.17679): the sharedUserId may not change
    if (existing.record.sharedUser !== base.sharedUserId) {
      throw new InstallFailure(
        `INSTALL_FAILED_SHARED_USER_INCOMPATIBLE: Package ${base.packageName} tried to change user ${existing.record.sharedUser}`,
      );
    }
  }
  const apks = parsed
    .map(({ apk, info }) => ({
      name: info.split === null ? 'base.apk' : `split_${info.split}.apk`,
      hostPath: apk.hostPath,
      split: info.split,
    }))
    .sort((a, b) => (a.split === null ? -1 : b.split === null ? 1 : a.split.localeCompare(b.split)));
  for (const { split } of apks) {
    if (split !== null && !/^[A-Za-z0-9_.]+$/.test(split)) {
      throw new InstallFailure(`INSTALL_FAILED_INVALID_APK: Invalid split name ${split}`);
    }
  }
  return { base, apks, existing };
}
