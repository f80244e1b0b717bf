import type { Readable } from 'node:stream';
import { BACKUP_USER } from '../android/layout.ts';
import type { SettingsNamespace } from '../android/settings.ts';
import { ERRORS } from '../errors.ts';
import type { AdbConnection } from './adb/adb-connection.ts';
import { commandFailed, runShell, type ShellOptions, spawnShell } from './adb/shell.ts';
import { pullFile, SyncSession } from './adb/sync.ts';
import type {
  Device,
  DeviceApk,
  DeviceProperties,
  EntryAttributes,
  FileOwner,
  PackageInfo,
  StreamOptions,
  TarOutOptions,
} from './device.ts';
import { HARDWARE_SCRIPT, parseHardware } from './hardware-facts.ts';
import { installApks } from './install-apks.ts';
import { lines, readPackageInfo } from './package-info.ts';
import {
  attributesScript,
  inspectScript,
  parseInspect,
  parseUnarchivable,
  tarMember,
  unarchivableScript,
} from './path-facts.ts';
import {
  devicePath,
  numericId,
  packageName,
  permissionName,
  quote,
  selinuxContext,
  settingKey,
  settingsNamespace,
  settingValue,
} from './shell-args.ts';
import { isSocketOnlyFailure } from './tar-stderr.ts';

// The Device port over a direct ADB connection: shell v2 for commands (exit codes checked, stderr
// in every error), sync for stat and file reads. Every argument is validated before any I/O, and
// every per-user command names user 0 explicitly: without --user, pm acts on every user.

const USER = `--user ${BACKUP_USER}`;

export class AdbDevice implements Device {
  constructor(private readonly conn: AdbConnection) {}

  async properties(): Promise<DeviceProperties> {
    const [build, hardware] = await Promise.all([
      this.run('getprop'),
      this.run(HARDWARE_SCRIPT, { allowFailure: true }),
    ]);
    const props = parseGetprop(build.stdout);
    const sdk = Number(props['ro.build.version.sdk']);
    if (!Number.isInteger(sdk) || sdk <= 0) throw this.failed('getprop has no valid ro.build.version.sdk');
    return {
      androidVersion: props['ro.build.version.release'] ?? '',
      sdk,
      abi: props['ro.product.cpu.abi'] ?? '',
      fingerprint: props['ro.build.fingerprint'] ?? '',
      // frameworks/base UserDataPreparer.prepareUserData sets "sys.user.<id>.ce_available" to
      // "true" once the user's CE storage is unlocked and prepared; absent before
      ceAvailable: props[`sys.user.${BACKUP_USER}.ce_available`] === 'true',
      ...parseHardware(hardware.stdout),
    };
  }

  async listPackages(opts: { thirdParty?: boolean } = {}): Promise<string[]> {
    const { stdout } = await this.run(`pm list packages ${opts.thirdParty ? '-3 ' : ''}${USER}`);
    return lines(stdout, 'package:').sort();
  }

  async packageInfo(pkg: string): Promise<PackageInfo | null> {
    return readPackageInfo(packageName(pkg), {
      run: (command) => this.run(command, { allowFailure: true }),
      stat: (path) => this.withSync((sync) => sync.stat(path)),
      failed: (why) => this.failed(why),
      commandFailed: (command, result) => commandFailed(this.conn, command, result),
    });
  }

  async isInstalled(pkg: string): Promise<boolean> {
    const { stdout } = await this.run(`pm list packages ${USER} ${quote(packageName(pkg))}`);
    return lines(stdout, 'package:').includes(pkg);
  }

  async forceStop(pkg: string): Promise<void> {
    await this.run(`am force-stop ${USER} ${quote(packageName(pkg))}`);
  }

  async suspend(pkg: string): Promise<boolean> {
    // PackageManagerShellCommand.runSuspend exits 0 even when the package manager refuses the
    // package (default launcher, dialer, SMS app, device admin …); only the printed state tells
    const { stdout } = await this.run(`pm suspend ${USER} ${quote(packageName(pkg))}`);
    const m = /new suspended state: (true|false)/.exec(stdout);
    if (!m) throw this.failed(`pm suspend ${pkg} printed ${JSON.stringify(stdout.trim().slice(0, 200))}`);
    return m[1] === 'true';
  }

  async unsuspend(pkg: string): Promise<void> {
    await this.run(`pm unsuspend ${USER} ${quote(packageName(pkg))}`);
  }

  async exists(path: string): Promise<boolean> {
    devicePath(path);
    return (await this.withSync((sync) => sync.stat(path))) !== null;
  }

  async usage(dir: string): Promise<number> {
    const d = quote(devicePath(dir));
    const { stdout } = await this.run(`[ -e ${d} ] || exit 0; ${duScript(d)}`);
    return stdout.trim() === '' ? 0 : this.parseDu(dir, stdout);
  }

  async folderFacts(dir: string): Promise<{ bytes: number; sockets: string[] } | null> {
    const d = quote(devicePath(dir));
    // the socket list comes last, so no name in it can be mistaken for the separator
    const script = `[ -e ${d} ] || exit 0; ${duScript(d)} && echo -- && cd ${d} && find . -type s -print0`;
    const { stdout } = await this.run(script);
    if (stdout === '') return null;
    const cut = stdout.indexOf('\n--\n');
    if (cut < 0) throw this.failed(`facts of ${dir} printed ${JSON.stringify(stdout.slice(0, 100))}`);
    const sockets = stdout
      .slice(cut + 4)
      .split('\0')
      .filter(Boolean)
      .map((p) => p.replace(/^\.\//, ''));
    return { bytes: this.parseDu(dir, stdout.slice(0, cut + 1)), sockets };
  }

  private parseDu(dir: string, stdout: string): number {
    const kib = stdout.startsWith('k\n');
    const n = Number.parseInt(kib ? stdout.slice(2) : stdout, 10);
    if (!Number.isSafeInteger(n)) throw this.failed(`du ${dir} printed ${JSON.stringify(stdout.slice(0, 100))}`);
    return kib ? n * 1024 : n;
  }

  async owner(path: string): Promise<FileOwner> {
    const p = quote(devicePath(path));
    const { stdout } = await this.run(`stat -c '%u %g' ${p} && ls -dZ ${p}`);
    const [ids = '', label = ''] = stdout.split('\n');
    const m = /^(\d+) (\d+)$/.exec(ids.trim());
    if (!m) throw this.failed(`stat ${path} printed ${JSON.stringify(ids)}`);
    // toybox ls -dZ prints "<context> <name>" (toys/posix/ls.c), and "?" when SELinux is off
    const context = label.trim().split(/\s+/)[0] ?? '';
    return { uid: Number(m[1]), gid: Number(m[2]), context: context === '?' ? '' : context };
  }

  readFile(path: string, opts: StreamOptions = {}): Readable {
    return pullFile(this.conn, devicePath(path), opts.signal);
  }

  readTail(path: string, bytes: number, opts: StreamOptions = {}): Readable {
    // toybox tail -c seeks to the end of a regular file instead of reading it (toys/posix/tail.c,
    // try_lseek), so only the bytes asked for cross the device
    const command = `tail -c ${numericId(bytes, 'Byte count')} ${quote(devicePath(path))}`;
    return spawnShell(this.conn, command, { signal: opts.signal, failOnNonZero: true }).stdout;
  }

  tarOut(dir: string, opts: TarOutOptions = {}): Readable {
    const member = opts.member === undefined ? '.' : tarMember(opts.member);
    const exclude = (opts.exclude ?? []).map((p) => ` ${quote(`--exclude=${p}`)}`).join('');
    const command = `tar -cf -${exclude} -C ${quote(devicePath(dir))} ${member}`;
    return spawnShell(this.conn, command, { signal: opts.signal, failOnNonZero: true, acceptExit: isSocketOnlyFailure })
      .stdout;
  }

  async inspectPath(path: string) {
    const { stdout } = await this.run(inspectScript(devicePath(path)));
    const facts = parseInspect(stdout);
    if (facts === undefined) throw this.failed(`inspecting ${path} printed ${JSON.stringify(stdout.slice(0, 200))}`);
    return facts;
  }

  async unarchivable(dir: string) {
    return parseUnarchivable((await this.run(unarchivableScript(devicePath(dir)))).stdout);
  }

  async setAttributes(path: string, attrs: EntryAttributes): Promise<void> {
    const command = attributesScript(devicePath(path), attrs);
    if (command) await this.run(command);
  }

  async tarIn(dir: string, tar: Readable, opts: StreamOptions = {}): Promise<void> {
    const d = quote(devicePath(dir));
    await this.run(`mkdir -p ${d} && tar -xf - -C ${d}`, { stdin: tar, signal: opts.signal });
  }

  async countEntries(dir: string): Promise<number> {
    const { stdout } = await this.run(`find ${quote(devicePath(dir))} | wc -l`);
    const n = Number(stdout.trim());
    if (!Number.isSafeInteger(n)) throw this.failed(`find ${dir} | wc -l printed ${JSON.stringify(stdout)}`);
    return n;
  }

  async move(from: string, to: string): Promise<boolean> {
    const [f, t] = [quote(devicePath(from)), quote(devicePath(to))];
    const present = (p: string) => `{ [ -e ${p} ] || [ -L ${p} ]; }`;
    const script = `if ! ${present(f)}; then echo absent; exit 0; fi; if ${present(t)}; then echo 'the destination exists' >&2; exit 1; fi; mv ${f} ${t}`;
    return (await this.run(script)).stdout.trim() !== 'absent';
  }

  async remove(...paths: string[]): Promise<void> {
    if (paths.length === 0) return;
    await this.run(`rm -rf ${paths.map((p) => quote(devicePath(p))).join(' ')}`);
  }

  async settings(ns: SettingsNamespace): Promise<Map<string, string>> {
    // sorted name=value lines (SettingsService.MyShellCommand.listForUser; src/android/settings.ts)
    const { stdout } = await this.run(`settings list ${settingsNamespace(ns)}`);
    const pairs = new Map<string, string>();
    for (const line of stdout.split('\n')) {
      const eq = line.indexOf('=');
      if (eq > 0) pairs.set(line.slice(0, eq), line.slice(eq + 1));
    }
    return pairs;
  }

  async putSetting(ns: SettingsNamespace, key: string, value: string): Promise<void> {
    const [n, k, v] = [settingsNamespace(ns), settingKey(key), settingValue(value)];
    await this.run(`settings ${USER} put ${n} ${k} ${quote(v)}`);
  }

  async namesIn(dirs: readonly string[], prefix: string): Promise<string[][]> {
    // the prefix is a glob's literal part, so it may only hold characters no shell treats specially
    if (!/^[A-Za-z0-9._-]+$/.test(prefix)) throw new Error(`unsafe name prefix ${JSON.stringify(prefix)}`);
    const list = dirs.map((d) => quote(devicePath(d))).join(' ');
    // `<index>/<name>\0` per match: a name holds neither / nor NUL. mksh leaves a glob that
    // matches nothing as it is, hence the -e/-L test of each match
    const script = `i=0; for d in ${list}; do if cd "$d" 2>/dev/null; then for f in ${prefix}*; do if [ -e "$f" ] || [ -L "$f" ]; then printf '%s/%s\\0' "$i" "$f"; fi; done; fi; i=$((i+1)); done`;
    const names = dirs.map((): string[] => []);
    for (const entry of (await this.run(script)).stdout.split('\0')) {
      const slash = entry.indexOf('/');
      if (slash > 0) names[Number(entry.slice(0, slash))]?.push(entry.slice(slash + 1));
    }
    return names;
  }

  async install(apks: DeviceApk[], opts: StreamOptions & { installer?: string } = {}): Promise<void> {
    return installApks(this.conn, apks, opts);
  }

  async uninstall(pkg: string): Promise<void> {
    const { stdout } = await this.run(`pm uninstall ${USER} ${quote(packageName(pkg))}`);
    if (!/^Success/m.test(stdout)) throw this.failed(`pm uninstall ${pkg}: ${stdout.trim() || 'no output'}`);
  }

  async chownTree(dir: string, uid: number, gid: number): Promise<void> {
    const owner = `${numericId(uid, 'Uid')}:${numericId(gid, 'Gid')}`;
    await this.run(`chown -hR ${owner} ${quote(devicePath(dir))}`);
  }

  async remapOwners(dir: string, uids: [number, number][], gids: [number, number][]): Promise<void> {
    const d = quote(devicePath(dir));
    const steps = [
      ...uids.map(([from, to]) => `find ${d} -user ${numericId(from)} -exec chown -h ${numericId(to)} {} +`),
      ...gids.map(([from, to]) => `find ${d} -group ${numericId(from)} -exec chgrp -h ${numericId(to)} {} +`),
    ];
    if (steps.length > 0) await this.run(steps.join(' && '));
  }

  async relabel(dir: string, context?: string): Promise<void> {
    const d = quote(devicePath(dir));
    // restorecon needs -D for app data: without it libselinux labels /data/data/*, /data/user/*
    // and /data/user_de/* only at the top (SELINUX_ANDROID_RESTORECON_DATADATA; toybox restorecon.c)
    await this.run(context === undefined ? `restorecon -RFD ${d}` : `chcon -hR ${quote(selinuxContext(context))} ${d}`);
  }

  async grantPermission(pkg: string, permission: string): Promise<void> {
    await this.run(`pm grant ${USER} ${quote(packageName(pkg))} ${quote(permissionName(permission))}`);
  }

  async revokePermission(pkg: string, permission: string): Promise<void> {
    await this.run(`pm revoke ${USER} ${quote(packageName(pkg))} ${quote(permissionName(permission))}`);
  }

  close(): Promise<void> {
    return this.conn.close();
  }

  private async run(command: string, opts: Omit<ShellOptions, 'failOnNonZero'> & { allowFailure?: boolean } = {}) {
    const result = await runShell(this.conn, command, opts);
    if (result.exitCode !== 0 && !opts.allowFailure) throw commandFailed(this.conn, command, result);
    return result;
  }

  private async withSync<T>(use: (sync: SyncSession) => Promise<T>): Promise<T> {
    const sync = await SyncSession.open(this.conn);
    try {
      return await use(sync);
    } finally {
      await sync.close();
    }
  }

  private failed(why: string) {
    return ERRORS.deviceCommandFailed(this.conn.address, why);
  }
}

/** apparent bytes (-b) match what tar will carry; Android 10's toybox 0.8.0 only has -k */
const duScript = (quoted: string) => `du -sb ${quoted} 2>/dev/null || { echo k; du -sk ${quoted}; }`;

/** `[ro.build.version.sdk]: [33]` lines */
export function parseGetprop(text: string): Record<string, string> {
  const props: Record<string, string> = {};
  for (const m of text.matchAll(/^\[([^\]]+)\]: \[(.*)\]$/gm)) props[m[1] as string] = m[2] as string;
  return props;
}
