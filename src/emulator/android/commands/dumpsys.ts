import { isUpdatedSystemApp } from '../package-records.ts';
import type { PackageService } from '../package-service.ts';
import type { Command } from './command.ts';
import { dumpPackage, identityHash } from './dumpsys-package.ts';
import { installPermissionLines, runtimeLines } from './dumpsys-permissions.ts';

// `dumpsys package [pkg]`: the sections of PackageManagerService.dump that describe packages, in
// its order — Packages:, Hidden system packages: (the /system copy of an updated system app),
// Shared users: (for one package: its own shared user, via dumpState.setSharedUser) — each after
// a blank line once something was printed (DumpState.onTitlePrinted). The other sections of a
// real dump (resolver tables, Key Set Manager, Queries, Dexopt state …) are not produced.

export async function packagesSection(service: PackageService, only?: string): Promise<string> {
  const records = service.db.list().filter((p) => only === undefined || p.name === only);
  const sections: string[] = [];
  if (records.length > 0) {
    const blocks = await Promise.all(records.map((p) => dumpPackage(service, p)));
    sections.push(`Packages:\n${blocks.join('')}`);
  }
  const updated = records.filter(isUpdatedSystemApp);
  if (updated.length > 0) {
    const blocks = await Promise.all(updated.map((p) => dumpPackage(service, p, p.system ?? p.code)));
    sections.push(`Hidden system packages:\n${blocks.join('')}`);
  }
  const sharedNames = new Set(records.flatMap((p) => (p.sharedUser ? [p.sharedUser] : [])));
  const shared = service.db.sharedUsers().filter((s) => sharedNames.has(s.name));
  if (shared.length > 0) {
    const blocks = shared.map((s) => sharedUser(service, s.name, s.appId, only !== undefined));
    sections.push(`Shared users:\n${blocks.join('')}`);
  }
  return sections.join('\n');
}

/** Settings.dumpSharedUsersLPr (A10 aosp-mirror@00bcec7c ≈ char 225500; A11 l.5077-5130) */
function sharedUser(service: PackageService, name: string, appId: number, onePackage: boolean): string {
  const out = [`  SharedUser [${name}] (${identityHash(name)}):`, `    ${service.profile.dumpsAppIdAs}=${appId}`];
  // 11+ lists the members (PackageSetting.toString: PackageSetting{hash name/appId})
  if (service.profile.release >= 11) {
    out.push('    Packages');
    for (const p of service.db.members(name))
      out.push(`      PackageSetting{${identityHash(p.name + p.code.path)} ${p.name}/${appId}}`);
  }
  out.push(...installPermissionLines(service, appId, '    '));
  for (const user of service.users()) {
    const { out: lines, gids, runtime, all } = runtimeLines(service, appId, user.id, '      ', onePackage);
    // only users with gids or permission states (10-11: runtime ones; 12+ getPermissionStates:
    // any); note that "User N: " ends in a space
    const states = service.profile.release >= 12 ? all : runtime;
    if (gids.length > 0 || states.length > 0) out.push(`    User ${user.id}: `, ...lines);
  }
  return `${out.join('\n')}\n`;
}

export function dumpsys(service: PackageService): Command {
  return async ({ args, out, err }) => {
    const [name, ...rest] = args;
    if (name === undefined || name === '-l') {
      out('Currently running services:\n  activity\n  package\n');
      return 0;
    }
    if (name !== 'package') {
      err(`Can't find service: ${name}\n`);
      return 0;
    }
    const pkg = rest.find((a) => !a.startsWith('-'));
    if (pkg !== undefined && !service.db.get(pkg)) {
      out(`Unable to find package: ${pkg}\n`);
      return 0;
    }
    out(await packagesSection(service, pkg));
    return 0;
  };
}
