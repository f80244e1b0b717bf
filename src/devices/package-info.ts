import { BACKUP_USER, DATA_PARTS, partFolder, uidFor } from '../android/layout.ts';
import type { ShellExit } from './adb/shell.ts';
import type { ApkFile, DataDirs, PackageInfo } from './device.ts';
import { parseDumpsysPackage } from './dumpsys-package.ts';
import { devicePath, quote } from './shell-args.ts';

// What user 0 has of a package, from three sources that must agree: `pm path` (its APKs; the
// package is not installed for the user when it prints none), `dumpsys package` (versions, app id,
// installer, suspension, runtime permission states) and `pm list packages -U` (the uid as the
// package manager computes it for the user), so a misread dumpsys can never give the wrong uid.

export interface PackageQueries {
  run(command: string): Promise<ShellExit & { stdout: string }>;
  stat(path: string): Promise<{ size: number } | null>;
  failed(why: string): Error;
  commandFailed(command: string, result: ShellExit & { stdout: string }): Error;
}

const USER = `--user ${BACKUP_USER}`;

export async function readPackageInfo(pkg: string, q: PackageQueries): Promise<PackageInfo | null> {
  const pathCommand = `pm path ${USER} ${quote(pkg)}`;
  const path = await q.run(pathCommand);
  const paths = lines(path.stdout, 'package:').map(devicePath);
  if (paths.length === 0) {
    // `pm path` of a package the user does not have prints nothing and exits 1
    if (path.exitCode <= 1 && !path.stderr) return null;
    throw q.commandFailed(pathCommand, path);
  }
  const dumpCommand = `dumpsys package ${quote(pkg)}`;
  const dumped = await q.run(dumpCommand);
  if (dumped.exitCode !== 0) throw q.commandFailed(dumpCommand, dumped);
  const dump = parseDumpsysPackage(dumped.stdout, pkg);
  if (!dump) throw q.failed(`dumpsys package ${pkg} shows no app id or versionCode for it`);
  const user = dump.user(BACKUP_USER);
  const uid = await listedUid(pkg, q);
  if (uid !== uidFor(dump.appId, BACKUP_USER)) {
    throw q.failed(`dumpsys package ${pkg} gives app id ${dump.appId} but pm list packages -U gives uid ${uid}`);
  }
  return {
    name: pkg,
    uid,
    versionCode: dump.versionCode,
    versionName: dump.versionName,
    apks: await apkFiles(paths, q),
    installer: dump.installer,
    system: dump.system,
    sharedUser: dump.sharedUser,
    installedUsers: dump.installedUsers,
    suspended: user?.suspended ?? false,
    suspendedBy: user?.suspendedBy ?? [],
    runtimePermissions: user?.runtimePermissions ?? [],
    dataDirs: Object.fromEntries(DATA_PARTS.map((p) => [p, partFolder(pkg, p)])) as DataDirs,
  };
}

/** `package:com.example.notes uid:10123` (runListPackages -U, the uid for the given user) */
async function listedUid(pkg: string, q: PackageQueries): Promise<number> {
  const command = `pm list packages -U ${USER} ${quote(pkg)}`;
  const listed = await q.run(command);
  if (listed.exitCode !== 0) throw q.commandFailed(command, listed);
  for (const line of lines(listed.stdout, 'package:')) {
    const m = /^(\S+) uid:(\d+)(?:,\d+)*$/.exec(line);
    if (m?.[1] === pkg) return Number(m[2]);
  }
  throw q.failed(`pm list packages -U does not list ${pkg} with a uid`);
}

async function apkFiles(paths: string[], q: PackageQueries): Promise<ApkFile[]> {
  const apks: ApkFile[] = [];
  for (const path of paths) {
    const st = await q.stat(path);
    if (!st) throw q.failed(`pm path lists ${path}, which does not exist`);
    apks.push({ path, name: path.slice(path.lastIndexOf('/') + 1), size: st.size });
  }
  return apks;
}

export function lines(text: string, prefix: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith(prefix))
    .map((l) => l.slice(prefix.length));
}
