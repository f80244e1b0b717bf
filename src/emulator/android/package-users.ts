import { createAppDirs } from './app-dirs.ts';
import { userStateOf } from './package-records.ts';
import type { PackageService } from './package-service.ts';
import { USER_ALL, USER_IDS, userExists } from './users.ts';

// Per-user state changes that are not installs: `pm install-existing` and `am force-stop`.

/**
 * PackageManagerService.installExistingPackageAsUser (A11 l.13202-13300): a package the phone
 * knows is marked installed (and not hidden) for the user and its data folders are made; false
 * for a package the phone does not know (INSTALL_FAILED_INVALID_URI)
 */
export async function installExisting(service: PackageService, pkg: string, user: number): Promise<boolean> {
  return service.serial(async () => {
    const record = service.db.get(pkg);
    if (!record) return false;
    const state = userStateOf(record, user);
    if (state.installed) return true;
    const now = Date.now();
    const installed = { ...state, installed: true, hidden: false, uninstallReason: 0, firstInstallTime: now };
    await service.db.put({ ...record, users: { ...record.users, [String(user)]: installed } });
    if (record.codeInstalled && userExists(user)) {
      await createAppDirs(service.phone, user, pkg, record.appId, record.code.targetSdk);
    }
    return true;
  });
}

/**
 * ActivityManagerService.forceStopPackage → PackageManagerService.setPackageStoppedState for the
 * user, or every user for USER_ALL (am's default); unknown packages and users change nothing.
 * No app processes run on the emulated phone, so stopping is all there is to do.
 */
export async function forceStop(service: PackageService, pkg: string, user: number): Promise<void> {
  const users = user === USER_ALL ? [...USER_IDS] : userExists(user) ? [user] : [];
  for (const u of users) await service.updateUser(pkg, u, (s) => ({ ...s, stopped: true }));
}
