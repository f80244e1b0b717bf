import { isInstalledFor, type PackageRecord, userStateOf } from './package-records.ts';
import type { PackageService } from './package-service.ts';

// PackageManagerService.setPackagesSuspendedAsUser and isPackageSuspendedForUser (A11
// Ankits-lab@150a9240 l.13450-13596): a refused package is returned as "unactioned", not an
// error, so `pm suspend` then prints `new suspended state: false` and exits 0. 11+ keeps one
// suspension per suspending package (PackageUserState.suspendParams; unsuspend removes only the
// caller's); 10 keeps one suspendingPackage field, which any suspend overwrites and any
// unsuspend clears (PackageSettingBase.setSuspended, as the A10 dump code's single
// `suspendingPackage=` shows).

export class UnknownTargetPackage extends Error {}

/**
 * canSuspendPackageForUserInternal (A11 l.13750): device admins, the active launcher, the
 * required installer/uninstaller/verifier, the default dialer, the permission controller,
 * protected packages, static shared libraries and "android" are refused. Of these the emulated
 * phone has only a launcher: the package, installed for that user, that answers HOME.
 */
export function refusalReason(service: PackageService, pkg: string, user: number): string | null {
  if (pkg === 'android') return 'Cannot suspend the platform package';
  if (activeLauncher(service, user)?.name === pkg) return 'contains the active launcher';
  return null;
}

/** getActiveLauncherPackageName: what HOME resolves to (a system launcher before others) */
export function activeLauncher(service: PackageService, user: number): PackageRecord | undefined {
  const homes = service.db.list().filter((p) => p.code.home && isInstalledFor(p, user));
  return homes.find((p) => p.system !== null) ?? homes[0];
}

/** the new suspended state; throws UnknownTargetPackage for a package the phone does not know */
export async function setSuspended(
  service: PackageService,
  pkg: string,
  user: number,
  suspended: boolean,
  suspendingPackage: string,
): Promise<boolean> {
  return service.serial(async () => {
    const record = service.db.get(pkg);
    const refused = suspended && refusalReason(service, pkg, user) !== null;
    if (record && suspendingPackage !== pkg && !refused) {
      const state = userStateOf(record, user);
      const current = state.suspendedBy;
      let suspendedBy: string[];
      if (!service.profile.suspendersPerPackage) suspendedBy = suspended ? [suspendingPackage] : [];
      // addOrUpdateSuspension keeps an existing entry in its place; removeSuspension drops only the caller's
      else if (suspended) suspendedBy = current.includes(suspendingPackage) ? current : [...current, suspendingPackage];
      else suspendedBy = current.filter((s) => s !== suspendingPackage);
      await service.db.put({ ...record, users: { ...record.users, [String(user)]: { ...state, suspendedBy } } });
    }
    const after = service.db.get(pkg);
    if (!after) throw new UnknownTargetPackage(`java.lang.IllegalArgumentException: Unknown target package: ${pkg}`);
    return userStateOf(after, user).suspendedBy.length > 0;
  });
}
