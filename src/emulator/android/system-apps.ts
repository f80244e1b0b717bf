import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { readApkInfo } from '../../apk/apk-info.ts';
import { readApkExtras } from './apk-extras.ts';
import { createAppDirs } from './app-dirs.ts';
import { reconcilePermissions, setPermission } from './package-permissions.ts';
import { codeRecordOf, type PackageRecord, type UserState } from './package-records.ts';
import type { PackageService } from './package-service.ts';
import { FLAG } from './permissions.ts';
import { USER_IDS } from './users.ts';

// The system image's apps: /system/app/<Name>/<Name>.apk, read-only for the phone's shell (the
// sandbox binds /system read-only), placed by the host before any shell runs and scanned at boot
// like PackageManagerService's scanDirTracedLI(SCAN_AS_SYSTEM). A scanned system app is installed
// for every user, not stopped, and gets its default grants (DefaultPermissionGrantPolicy:
// grantSystemFixedPermissionsToSystemPackage → SYSTEM_FIXED|GRANTED_BY_DEFAULT).

export const FIXTURES = path.join(packageRoot(import.meta.dirname), 'fixtures', 'apks');

export const SYSTEM_IMAGE = [
  {
    name: 'Launcher',
    fixture: 'launcher.apk',
    grants: { 'android.permission.ACCESS_FINE_LOCATION': FLAG.SYSTEM_FIXED | FLAG.GRANTED_BY_DEFAULT },
  },
] as const;

async function placeSystemImage(service: PackageService): Promise<void> {
  for (const app of SYSTEM_IMAGE) {
    const dir = `/system/app/${app.name}`;
    const apk = await service.phone.resolve(`${dir}/${app.name}.apk`, false);
    if (existsSync(apk)) continue;
    await service.phone.ensureDir('/system/app', 0, 0, 0o755);
    await service.phone.ensureDir(dir, 0, 0, 0o755);
    await fsp.copyFile(path.join(FIXTURES, app.fixture), apk);
    await fsp.chmod(apk, 0o644);
  }
}

export async function scanSystemApps(service: PackageService): Promise<void> {
  await placeSystemImage(service);
  for (const app of SYSTEM_IMAGE) {
    const dir = `/system/app/${app.name}`;
    const host = await service.phone.resolve(`${dir}/${app.name}.apk`, false);
    const info = await readApkInfo(host);
    const extras = await readApkExtras(host);
    const code = codeRecordOf({ ...info, ...extras }, dir, [{ name: `${app.name}.apk`, split: null }]);
    const known = service.db.get(info.packageName);
    if (known) {
      // an update in /data/app keeps running; the factory copy is what the image holds now
      const updated = known.code.path !== known.system?.path;
      await service.db.put({ ...known, system: code, code: updated ? known.code : code });
      continue;
    }
    const now = Date.now();
    const user: UserState = {
      installed: true,
      hidden: false,
      stopped: false,
      notLaunched: false,
      suspendedBy: [],
      installReason: 0,
      uninstallReason: 0,
      firstInstallTime: now,
    };
    const record: PackageRecord = {
      name: info.packageName,
      appId: service.db.allocateAppId(),
      sharedUser: extras.sharedUserId,
      code,
      codeInstalled: true,
      system: code,
      installer: null,
      initiator: null,
      firstInstallTime: now,
      lastUpdateTime: now,
      users: Object.fromEntries(USER_IDS.map((u) => [String(u), user])),
    };
    await service.db.put(record);
    reconcilePermissions(service.db, record.appId, [...USER_IDS]);
    for (const u of USER_IDS) {
      for (const [perm, flags] of Object.entries(app.grants)) {
        setPermission(service.db, record.appId, u, perm, { granted: true, flags });
      }
      await createAppDirs(service.phone, u, record.name, record.appId, record.code.targetSdk);
    }
    await service.db.save();
  }
}

/** the package's root, from the sources (src/emulator/android) or the build (dist) */
function packageRoot(from: string): string {
  for (let dir = from; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'fixtures', 'apks'))) return dir;
  }
  throw new Error(`fixtures/apks not found above ${from}`);
}
