import type { PackageDb } from './package-db.ts';
import type { PermissionState } from './package-records.ts';
import { FLAG, isKnownPermission, isRuntimePermission, NEW_RUNTIME_FLAGS } from './permissions.ts';

// Permission state per appId and user (PermissionsState on 10-11, UidPermissionState on 12+): a
// shared-UID pair holds one set, requested by the union of its members. Install permissions
// are granted for every user; runtime ones start denied with the USER_SENSITIVE flags the
// permission controller gives every new install.

export interface PermissionEntry extends PermissionState {
  name: string;
  runtime: boolean;
}

/** Java's String.hashCode, whose order ArrayMap/ArraySet iterate in (what dumpsys lists) */
export function javaHash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}

export const byJavaHash = <T extends { name: string }>(list: T[]) =>
  [...list].sort((a, b) => javaHash(a.name) - javaHash(b.name));

/** the permissions an appId requests: every member package's, in manifest order */
export function requestedByAppId(db: PackageDb, appId: number): string[] {
  const all = db.list().filter((p) => p.appId === appId && p.codeInstalled);
  return [...new Set(all.flatMap((p) => p.code.requestedPermissions))];
}

export function entries(db: PackageDb, appId: number, user: number): PermissionEntry[] {
  const states = [...db.permissions(appId, user)].map(([name, s]) => ({
    name,
    ...s,
    runtime: isRuntimePermission(name),
  }));
  return byJavaHash(states);
}

/**
 * After an install, update or uninstall: every requested permission has a state for the given
 * users, unrequested ones are dropped; `grantAll` (-g) grants the runtime ones that are not fixed.
 */
export function reconcilePermissions(db: PackageDb, appId: number, users: number[], grantAll = false): void {
  const requested = requestedByAppId(db, appId).filter(isKnownPermission);
  for (const user of users) {
    const states = db.permissions(appId, user);
    for (const name of states.keys()) if (!requested.includes(name)) states.delete(name);
    for (const name of requested) {
      const runtime = isRuntimePermission(name);
      const state =
        states.get(name) ?? (runtime ? { granted: false, flags: NEW_RUNTIME_FLAGS } : { granted: true, flags: 0 });
      const fixed = (state.flags & (FLAG.SYSTEM_FIXED | FLAG.POLICY_FIXED)) !== 0;
      states.set(name, runtime && grantAll && !fixed ? { ...state, granted: true } : state);
    }
    db.setPermissions(appId, user, states);
  }
}

/** PermissionManager.resetRuntimePermissions for one user (an uninstall for that user): runtime ones back to new */
export function resetRuntimePermissions(db: PackageDb, appId: number, user: number): void {
  const states = db.permissions(appId, user);
  for (const name of states.keys()) {
    if (isRuntimePermission(name)) states.set(name, { granted: false, flags: NEW_RUNTIME_FLAGS });
  }
  db.setPermissions(appId, user, states);
}

export function setPermission(db: PackageDb, appId: number, user: number, name: string, state: PermissionState): void {
  const states = db.permissions(appId, user);
  states.set(name, state);
  db.setPermissions(appId, user, states);
}
