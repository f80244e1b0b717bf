import { byJavaHash, entries, type PermissionEntry } from '../package-permissions.ts';
import { type PackageRecord, userStateOf } from '../package-records.ts';
import type { PackageService } from '../package-service.ts';
import { gidsOf, permissionFlagName } from '../permissions.ts';
import { dumpTime } from './dumpsys-package.ts';

// The per-user part of a package block and the permission lines, after Settings.java's
// dumpPackageLPr user loop, dumpInstallPermissionsLPr, dumpGidsLPr and dumpRuntimePermissionsLPr
// (A10 aosp-mirror@00bcec7c; A11 Ankits-lab@150a9240 l.4899-4985 and l.5177-5260; A15
// AxionAOSP@71a5204b for the 12+ per-user install permissions).

/** permissionFlagsToString(", flags=", flags): '' without flags; 10 `[ A B ]`, 11+ `[ A|B]` */
export function flagsText(service: PackageService, flags: number): string {
  const names: string[] = [];
  for (let bit = 1; bit <= flags && bit > 0; bit <<= 1) if (flags & bit) names.push(permissionFlagName(bit));
  if (names.length === 0) return '';
  if (service.profile.packages.permissionFlagsJoin === ' ') return `, flags=[ ${names.map((n) => `${n} `).join('')}]`;
  return `, flags=[ ${names.join('|')}]`;
}

const line = (service: PackageService, prefix: string, e: PermissionEntry, suffix = '') =>
  `${prefix}  ${e.name}: granted=${e.granted}${flagsText(service, e.flags)}${suffix}`;

/**
 * `install permissions:`: 10-11 one state shared by all users; 12+ user 0's state, then a
 * `…, userId=N` line for each other user whose state differs (Objects.equals on PermissionState)
 */
export function installPermissionLines(service: PackageService, appId: number, prefix: string): string[] {
  const of = (user: number) => entries(service.db, appId, user).filter((e) => !e.runtime);
  const system = of(0);
  const out: string[] = [];
  if (!service.profile.dumpsPerUserInstallPermissions) {
    out.push(...system.map((e) => line(service, prefix, e)));
  } else {
    const names = byJavaHash(
      [...new Set(service.users().flatMap((u) => of(u.id).map((e) => e.name)))].map((name) => ({ name })),
    );
    for (const { name } of names) {
      const base = system.find((e) => e.name === name);
      out.push(line(service, prefix, base ?? { name, granted: false, flags: 0, runtime: false }));
      for (const user of service.users().slice(1)) {
        const other = of(user.id).find((e) => e.name === name);
        if (other?.granted === base?.granted && other?.flags === base?.flags) continue;
        out.push(
          line(service, prefix, other ?? { name, granted: false, flags: 0, runtime: false }, `, userId=${user.id}`),
        );
      }
    }
  }
  return out.length > 0 ? [`${prefix}install permissions:`, ...out] : [];
}

/** gids=[…] and runtime permissions: (printed, even when empty, since a package is named) */
export function runtimeLines(service: PackageService, appId: number, user: number, prefix: string, always: boolean) {
  const all = entries(service.db, appId, user);
  const runtime = all.filter((e) => e.runtime);
  const out: string[] = [];
  const gids = gidsOf(all.filter((e) => e.granted).map((e) => e.name));
  if (gids.length > 0) out.push(`${prefix}gids=[${gids.join(', ')}]`);
  if (runtime.length > 0 || always)
    out.push(`${prefix}runtime permissions:`, ...runtime.map((e) => line(service, prefix, e)));
  return { out, gids, runtime, all };
}

/** `User N: ceDataInode=…` and what follows it for that user */
export function dumpUser(
  service: PackageService,
  p: PackageRecord,
  user: number,
  ceInode: number,
  noRuntime = false,
): string[] {
  const s = userStateOf(p, user);
  const pm = service.profile.packages;
  const suspended = s.suspendedBy.length > 0;
  let text = `    User ${user}: ceDataInode=${ceInode} installed=${s.installed} hidden=${s.hidden} suspended=${suspended}`;
  // A10: a single suspender, inline; 11+: distractionFlags, and the Suspend params block below
  if (!service.profile.dumpsSuspendParams && suspended)
    text += ` suspendingPackage=${s.suspendedBy[0]} dialogInfo=null`;
  if (pm.userLineDistractionFlags) text += ' distractionFlags=0';
  text += ` stopped=${s.stopped} notLaunched=${s.notLaunched} enabled=0 instant=false virtual=false`;
  const out = [text];
  if (pm.perUserInstallInfo) {
    // hard-coded 6-space indent in Settings.java (13+)
    out.push(
      `      installReason=${s.installReason}`,
      `      firstInstallTime=${dumpTime(s.firstInstallTime)}`,
      `      uninstallReason=${s.uninstallReason}`,
    );
  }
  if (service.profile.dumpsSuspendParams && suspended) {
    out.push('    Suspend params:', ...s.suspendedBy.map((by) => `      suspendingPackage=${by} dialogInfo=null`));
  }
  // a shared-UID package's gids and runtime permissions are under `Shared users:` instead
  if (p.sharedUser === null) {
    const { out: lines, gids } = runtimeLines(service, p.appId, user, '      ', true);
    out.push(...(noRuntime ? [...(gids.length > 0 ? [lines[0] as string] : []), '      runtime permissions:'] : lines));
  }
  return out;
}
