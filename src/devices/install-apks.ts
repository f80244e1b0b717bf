import { ERRORS } from '../errors.ts';
import type { AdbConnection } from './adb/adb-connection.ts';
import { runShell } from './adb/shell.ts';
import { type DeviceApk, InstallFailed } from './device.ts';
import { apkName, devicePath, numericId, packageName, quote } from './shell-args.ts';

// One install session for an APK set already on the phone, for user 0 only: install-create,
// install-write of each APK from its path (PackageManagerShellCommand opens the file and hands
// the descriptor to the session; /data/local/tmp is readable by system_server), install-commit.
// Any failure abandons the session and surfaces pm's own `Failure [...]` text, whose code
// (INSTALL_FAILED_…) tells the caller what to do next.

export async function installApks(
  conn: AdbConnection,
  apks: DeviceApk[],
  opts: { installer?: string; signal?: AbortSignal } = {},
): Promise<void> {
  if (apks.length === 0) throw ERRORS.invalidParameter('Apks', 'an install needs at least one APK');
  const names = new Set<string>();
  for (const apk of apks) {
    if (names.has(apkName(apk.name))) throw ERRORS.invalidParameter('ApkName', `${apk.name} appears twice`);
    names.add(apk.name);
    numericId(apk.size, 'ApkSize');
    devicePath(apk.path);
  }
  const total = apks.reduce((n, a) => n + a.size, 0);
  const pm = async (args: string) => {
    const r = await runShell(conn, `pm ${args}`, { signal: opts.signal });
    if (r.exitCode !== 0 || !/^Success/m.test(r.stdout)) {
      const failure = /^Failure.*$/m.exec(r.stdout)?.[0] ?? (r.stderr || r.stdout.trim() || `exit ${r.exitCode}`);
      throw new InstallFailed(conn.address, `pm ${args.split(' ')[0]} failed: ${failure}`);
    }
    return r.stdout;
  };
  const installer = opts.installer === undefined ? '' : ` -i ${quote(packageName(opts.installer))}`;
  const created = /\[(\d+)\]/.exec(await pm(`install-create --user 0${installer} -S ${total}`));
  if (!created) throw ERRORS.deviceCommandFailed(conn.address, 'pm install-create printed no session id');
  const session = Number(created[1]);
  try {
    for (const apk of apks) {
      await pm(`install-write -S ${apk.size} ${session} ${quote(apk.name)} ${quote(apk.path)}`);
    }
    await pm(`install-commit ${session}`);
  } catch (err) {
    // a failed commit has already dropped the session; abandoning again is harmless
    await runShell(conn, `pm install-abandon ${session}`).catch(() => {});
    throw err;
  }
}
