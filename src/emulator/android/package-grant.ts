import { requestedByAppId, setPermission } from './package-permissions.ts';
import type { PackageService } from './package-service.ts';
import { FLAG, isKnownPermission, isRuntimePermission } from './permissions.ts';
import { userExists } from './users.ts';

// `pm grant` / `pm revoke` → PermissionManagerService grant/revokeRuntimePermissionInternal, in
// the order of its checks. Read in: A10 (Q, a decompiled PermissionManagerService with
// PackageParser and SoftRestrictedPermissionPolicy.canBeGranted, code index id 3665185322),
// A11 (Ankits-lab@150a9240 PermissionManagerService.java l.1409-1560) and 12+
// (PermissionManagerServiceImpl, code index id 3179826). On every release 10-14 a grant of a
// SYSTEM_FIXED or POLICY_FIXED permission is a silent no-op (Log.e and return, exit 0), as are
// an unknown package and an unknown user; revoking a fixed permission throws.

/** a Java exception as ShellCommand prints it (its toString) */
export class JavaException extends Error {
  constructor(
    readonly javaClass: string,
    message: string,
  ) {
    super(`${javaClass}: ${message}`);
  }
}

const security = (message: string) => new JavaException('java.lang.SecurityException', message);

export async function grantOrRevoke(service: PackageService, pkg: string, perm: string, user: number, grant: boolean) {
  await service.serial(async () => {
    if (!userExists(user)) return; // Log.e(TAG, "No such user:" + userId)
    const record = service.db.get(pkg);
    if (!record?.codeInstalled) return; // Log.e(TAG, "Unknown package: " + packageName)
    if (!isKnownPermission(perm))
      throw new JavaException('java.lang.IllegalArgumentException', `Unknown permission: ${perm}`);
    const changeable = () => {
      if (!isRuntimePermission(perm)) {
        throw security(`Permission ${perm} requested by ${pkg} is not a changeable permission type`);
      }
    };
    // 10: the package's own request list; 11+: also a state the appId holds (a shared-UID sibling's)
    const requested =
      record.code.requestedPermissions.includes(perm) ||
      (service.profile.release >= 11 && requestedByAppId(service.db, record.appId).includes(perm));
    const wasRequested = () => {
      if (!requested) throw security(`Package ${pkg} has not requested permission ${perm}`);
    };
    if (service.profile.packages.grantChecksTypeFirst) {
      changeable();
      wasRequested();
    } else {
      wasRequested();
      changeable();
    }
    // runtime permissions of a legacy app (targetSdk < 23) are always granted
    if (record.code.targetSdk < 23) return;
    const state = service.db.permissions(record.appId, user).get(perm) ?? { granted: false, flags: 0 };
    if (grant) {
      // root has no ADJUST_RUNTIME_PERMISSIONS_POLICY, so POLICY_FIXED holds too
      if ((state.flags & (FLAG.SYSTEM_FIXED | FLAG.POLICY_FIXED)) !== 0) return;
    } else {
      if ((state.flags & FLAG.SYSTEM_FIXED) !== 0) {
        throw security(`Non-System UID cannot revoke system fixed permission ${perm} for package ${pkg}`);
      }
      if ((state.flags & FLAG.POLICY_FIXED) !== 0) {
        throw security(`Cannot revoke policy fixed permission ${perm} for package ${pkg}`);
      }
    }
    setPermission(service.db, record.appId, user, perm, { ...state, granted: grant });
    await service.db.save();
  });
}
