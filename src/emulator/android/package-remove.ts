import { createAppDirs, removeAppDirs } from './app-dirs.ts';
import { codeFolder } from './package-install.ts';
import { reconcilePermissions, resetRuntimePermissions } from './package-permissions.ts';
import { absentUser, isUpdatedSystemApp, type PackageRecord, userStateOf } from './package-records.ts';
import type { PackageService } from './package-service.ts';
import { USER_ALL, USER_IDS } from './users.ts';

// PackageManagerService.deletePackageX → deletePackageLIF → executeDeletePackageLIF (A11
// Ankits-lab@150a9240 PackageManagerService.java l.18495-19345): for one user the package is
// marked uninstalled and that user's data goes (a system app always stays, as does a package
// another user still has); for all users a plain package goes with everyone's data (-k keeps
// it, and the appId), an updated system app reverts to its /system copy, and a system app
// that was never updated cannot be deleted (mayDeletePackageLocked returns null).

/** null on success, else the PackageManager.DELETE_FAILED_* status */
export async function deletePackage(
  service: PackageService,
  pkg: string,
  user: number,
  keepData: boolean,
): Promise<string | null> {
  const record = service.db.get(pkg);
  if (!record) return 'DELETE_FAILED_INTERNAL_ERROR';
  if (user !== USER_ALL) {
    const others = USER_IDS.filter((u) => u !== user && userStateOf(record, u).installed);
    if (record.system !== null || others.length > 0) {
      await uninstallForUser(service, record, user, keepData);
      return null;
    }
  }
  if (record.system !== null) {
    if (!isUpdatedSystemApp(record)) return 'DELETE_FAILED_INTERNAL_ERROR';
    await revertToSystem(service, record);
    return null;
  }
  await service.phone.remove(codeFolder(record.code.path));
  if (keepData) {
    const users = Object.fromEntries(Object.keys(record.users).map((u) => [u, absentUser()]));
    await service.db.put({ ...record, codeInstalled: false, users });
  } else {
    for (const u of USER_IDS) await removeAppDirs(service.phone, u, pkg);
    await service.db.remove(pkg);
    // the appId's permission state stays while a shared-UID sibling holds it
    reconcilePermissions(service.db, record.appId, [...USER_IDS]);
    await service.db.save();
  }
  return null;
}

/** markPackageUninstalledForUserLPw + clearPackageStateForUserLIF */
async function uninstallForUser(service: PackageService, record: PackageRecord, user: number, keepData: boolean) {
  await service.db.put({ ...record, users: { ...record.users, [String(user)]: absentUser() } });
  if (!keepData) await removeAppDirs(service.phone, user, record.name);
  resetRuntimePermissions(service.db, record.appId, user);
  await service.db.save();
}

/**
 * deleteSystemPackageLIF: the update's code goes and the /system copy is installed again for the
 * users that had the package; data stays unless the update was newer than the system copy
 */
async function revertToSystem(service: PackageService, record: PackageRecord) {
  const system = record.system as NonNullable<PackageRecord['system']>;
  await service.phone.remove(codeFolder(record.code.path));
  const dropData = system.versionCode < record.code.versionCode;
  await service.db.put({ ...record, code: system, lastUpdateTime: Date.now() });
  reconcilePermissions(service.db, record.appId, [...USER_IDS]);
  await service.db.save();
  for (const user of USER_IDS) {
    if (dropData) await removeAppDirs(service.phone, user, record.name);
    if (userStateOf(record, user).installed) {
      await createAppDirs(service.phone, user, record.name, record.appId, system.targetSdk);
    }
  }
}
