import type { Readable } from 'node:stream';
import { ERRORS } from '../errors.ts';
import type { AdbConnection } from './adb/adb-connection.ts';
import { runShell } from './adb/shell.ts';
import { apkName, numericId, quote } from './shell-args.ts';

// One install session for an APK set, as `adb install-multiple` does: install-create, one
// install-write per APK with its bytes streamed as stdin, install-commit. Any failure abandons
// the session and surfaces pm's own `Failure [...]` text.

export interface ApkSource {
  name: string;
  size: number;
  open: () => Readable;
}

export async function installApks(conn: AdbConnection, apks: ApkSource[], signal?: AbortSignal): Promise<void> {
  if (apks.length === 0) throw ERRORS.invalidParameter('Apks', 'an install needs at least one APK');
  const names = new Set<string>();
  for (const apk of apks) {
    if (names.has(apkName(apk.name))) throw ERRORS.invalidParameter('ApkName', `${apk.name} appears twice`);
    names.add(apk.name);
    numericId(apk.size, 'ApkSize');
  }
  const total = apks.reduce((n, a) => n + a.size, 0);
  const pm = async (args: string, stdin?: Readable) => {
    const r = await runShell(conn, `pm ${args}`, { stdin, signal });
    if (r.exitCode !== 0 || !/^Success/m.test(r.stdout)) {
      const failure = /^Failure.*$/m.exec(r.stdout)?.[0] ?? (r.stderr || r.stdout.trim() || `exit ${r.exitCode}`);
      throw ERRORS.deviceCommandFailed(conn.address, `pm ${args} failed: ${failure}`);
    }
    return r.stdout;
  };
  const created = /\[(\d+)\]/.exec(await pm(`install-create -S ${total}`));
  if (!created) throw ERRORS.deviceCommandFailed(conn.address, 'pm install-create printed no session id');
  const session = Number(created[1]);
  try {
    for (const apk of apks) await pm(`install-write -S ${apk.size} ${session} ${quote(apk.name)} -`, apk.open());
    await pm(`install-commit ${session}`);
  } catch (err) {
    // a failed commit has already dropped the session; abandoning again is harmless
    await runShell(conn, `pm install-abandon ${session}`).catch(() => {});
    throw err;
  }
}
