import { isInstalledFor, type PackageRecord } from '../package-records.ts';
import type { PackageService } from '../package-service.ts';
import { BadUserArg, parseUserArg, USER_ALL, USER_CURRENT, uidOf, userExists } from '../users.ts';
import type { CommandIo } from './command.ts';

// `pm list packages` and `pm list users`, after PackageManagerShellCommand.runListPackages (A11
// Ankits-lab@150a9240 l.733-860: option errors on stdout, exit -1) and UserManagerService's
// shell `list` (l.4584: "Users:" then "\t" + UserInfo.toString() + " running").
// Packages are listed by name; a phone lists them in its ArrayMap order, which clients must not rely on.

const FLAGS = ['-d', '-e', '-a', '-f', '-i', '-l', '-s', '-U', '-u', '-3', '--show-versioncode', '--apex-only'];

export function listUsers(service: PackageService, io: CommandIo): number {
  const lines = service.users().map((u) => `\tUserInfo{${u.id}:${u.name}:${u.flags.toString(16)}} running\n`);
  io.out(`Users:\n${lines.join('')}`);
  return 0;
}

/** the path `-f` prints: ApplicationInfo.sourceDir, the base APK */
export const sourceDir = (p: PackageRecord) => `${p.code.path}/${p.code.apks[0]}`;

export function listPackages(service: PackageService, io: CommandIo, args: string[]): number {
  const options = new Set<string>();
  let user = 0;
  let uid: number | null = null;
  let i = 0;
  try {
    for (; i < args.length && (args[i] as string).startsWith('-'); i++) {
      const opt = args[i] as string;
      if (FLAGS.includes(opt)) options.add(opt);
      else if (opt === '--user') user = parseUserArg(required(args[++i], opt));
      else if (opt === '--uid') {
        options.add('-U');
        const value = required(args[++i], opt);
        if (!/^-?\d+$/.test(value)) throw new Error(`java.lang.NumberFormatException: For input string: "${value}"`);
        uid = Number(value);
      } else {
        io.out(`Error: Unknown option: ${opt}\n`);
        return 255;
      }
    }
  } catch (err) {
    const text =
      err instanceof BadUserArg ? `java.lang.IllegalArgumentException: ${err.message}` : String((err as Error).message);
    io.out(`Error: ${text}\n`);
    return 255;
  }
  const filter = args[i];
  // translateUserId(userId, USER_SYSTEM): "all" lists user 0 with MATCH_KNOWN_PACKAGES
  const known = options.has('-u') || options.has('-a') || user === USER_ALL;
  if (user === USER_ALL || user === USER_CURRENT) user = 0;
  // getInstalledPackages answers an empty list for a user that does not exist
  const packages = userExists(user) ? service.db.list().filter((p) => (known ? true : isInstalledFor(p, user))) : [];
  const lines: string[] = [];
  for (const p of packages) {
    if (filter !== undefined && !p.name.includes(filter)) continue;
    const pUid = uidOf(user, p.appId);
    if (uid !== null && pUid !== uid) continue;
    const system = p.system !== null;
    if (options.has('-d') || options.has('--apex-only')) continue; // nothing is disabled, no APEX
    if ((options.has('-s') && !system) || (options.has('-3') && system)) continue;
    let line = 'package:';
    if (options.has('-f')) line += `${sourceDir(p)}=`;
    line += p.name;
    if (options.has('--show-versioncode')) line += ` versionCode:${p.code.versionCode}`;
    if (options.has('-i')) line += `  installer=${installerOf(service, p)}`;
    if (options.has('-U')) line += ` uid:${pUid}`;
    lines.push(`${line}\n`);
  }
  io.out(lines.join(''));
  return 0;
}

/** getInstallerPackageName: null once the installer package is gone (or never was) */
function installerOf(service: PackageService, p: PackageRecord): string {
  return p.installer !== null && service.db.get(p.installer) ? p.installer : 'null';
}

function required(value: string | undefined, after: string): string {
  if (value === undefined) throw new Error(`java.lang.IllegalArgumentException: Argument expected after "${after}"`);
  return value;
}
