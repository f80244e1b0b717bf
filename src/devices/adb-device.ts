import type { Readable } from 'node:stream';
import { ERRORS } from '../errors.ts';
import type { AdbConnection } from './adb/adb-connection.ts';
import { commandFailed, runShell, type ShellOptions, spawnShell } from './adb/shell.ts';
import { pullFile, SyncSession } from './adb/sync.ts';
import type { ApkFile, DataDirs, Device, DeviceProperties, FileOwner, PackageInfo, StreamOptions } from './device.ts';
import { parseDumpsysPackage } from './dumpsys-package.ts';
import { installApks } from './install-apks.ts';
import { devicePath, numericId, packageName, permissionName, quote, selinuxContext } from './shell-args.ts';

// The Device port over a direct ADB connection: shell v2 for commands (exit codes checked, stderr
// in every error), sync for stat and file reads. Every argument is validated before any I/O.

export class AdbDevice implements Device {
  constructor(private readonly conn: AdbConnection) {}

  async properties(): Promise<DeviceProperties> {
    const props = parseGetprop((await this.run('getprop')).stdout);
    const sdk = Number(props['ro.build.version.sdk']);
    if (!Number.isInteger(sdk) || sdk <= 0) throw this.failed('getprop has no valid ro.build.version.sdk');
    return {
      androidVersion: props['ro.build.version.release'] ?? '',
      sdk,
      abi: props['ro.product.cpu.abi'] ?? '',
      fingerprint: props['ro.build.fingerprint'] ?? '',
    };
  }

  async listPackages(): Promise<string[]> {
    const { stdout } = await this.run('pm list packages');
    return linesWith(stdout, 'package:').sort();
  }

  async packageInfo(pkg: string): Promise<PackageInfo | null> {
    packageName(pkg);
    const path = await this.run(`pm path ${quote(pkg)}`, { allowFailure: true });
    const paths = linesWith(path.stdout, 'package:').map(devicePath);
    if (paths.length === 0) {
      // `pm path` of an unknown package prints nothing and exits 1; anything else is a real failure
      if (path.exitCode <= 1 && !path.stderr) return null;
      throw commandFailed(this.conn, `pm path ${pkg}`, path);
    }
    const dump = parseDumpsysPackage((await this.run(`dumpsys package ${quote(pkg)}`)).stdout, pkg);
    if (!dump) throw this.failed(`dumpsys package ${pkg} shows no uid or versionCode for it`);
    return { name: pkg, ...dump, apks: await this.apkFiles(paths), dataDirs: dataDirsOf(pkg) };
  }

  async forceStop(pkg: string): Promise<void> {
    await this.run(`am force-stop --user 0 ${quote(packageName(pkg))}`);
  }

  async suspend(pkg: string): Promise<void> {
    await this.run(`pm suspend --user 0 ${quote(packageName(pkg))}`);
  }

  async unsuspend(pkg: string): Promise<void> {
    await this.run(`pm unsuspend --user 0 ${quote(packageName(pkg))}`);
  }

  async exists(path: string): Promise<boolean> {
    devicePath(path);
    return (await this.withSync((sync) => sync.stat(path))) !== null;
  }

  async usage(dir: string): Promise<number> {
    const d = quote(devicePath(dir));
    // apparent bytes (-b) match what tar will carry; old toolboxes only have -k
    const { stdout } = await this.run(`[ -e ${d} ] || exit 0; du -sb ${d} 2>/dev/null || { echo k; du -sk ${d}; }`);
    if (stdout.trim() === '') return 0;
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
    // toybox prints "?" for the context when SELinux is off
    const context = label.trim().split(/\s+/)[0] ?? '';
    return { uid: Number(m[1]), gid: Number(m[2]), context: context === '?' ? '' : context };
  }

  readFile(path: string, opts: StreamOptions = {}): Readable {
    return pullFile(this.conn, devicePath(path), opts.signal);
  }

  tarOut(dir: string, opts: StreamOptions = {}): Readable {
    const command = `tar -cf - -C ${quote(devicePath(dir))} .`;
    return spawnShell(this.conn, command, { signal: opts.signal, failOnNonZero: true }).stdout;
  }

  async tarIn(dir: string, tar: Readable, opts: StreamOptions = {}): Promise<void> {
    const d = quote(devicePath(dir));
    await this.run(`mkdir -p ${d} && tar -xf - -C ${d}`, { stdin: tar, signal: opts.signal });
  }

  install(apks: { name: string; size: number; open: () => Readable }[], opts: StreamOptions = {}): Promise<void> {
    return installApks(this.conn, apks, opts.signal);
  }

  async uninstall(pkg: string): Promise<void> {
    const { stdout } = await this.run(`pm uninstall ${quote(packageName(pkg))}`);
    if (!/^Success/m.test(stdout)) throw this.failed(`pm uninstall ${pkg}: ${stdout.trim() || 'no output'}`);
  }

  async chownTree(dir: string, uid: number, gid: number): Promise<void> {
    const owner = `${numericId(uid, 'Uid')}:${numericId(gid, 'Gid')}`;
    await this.run(`chown -hR ${owner} ${quote(devicePath(dir))}`);
  }

  async relabel(dir: string, context?: string): Promise<void> {
    const d = quote(devicePath(dir));
    await this.run(context === undefined ? `restorecon -R ${d}` : `chcon -hR ${quote(selinuxContext(context))} ${d}`);
  }

  async grantPermission(pkg: string, permission: string): Promise<void> {
    await this.run(`pm grant --user 0 ${quote(packageName(pkg))} ${quote(permissionName(permission))}`);
  }

  async clearDir(dir: string): Promise<void> {
    const d = quote(devicePath(dir));
    await this.run(`[ -d ${d} ] || exit 0; find ${d} -mindepth 1 -maxdepth 1 -exec rm -rf {} +`);
  }

  close(): Promise<void> {
    return this.conn.close();
  }

  private async run(command: string, opts: Omit<ShellOptions, 'failOnNonZero'> & { allowFailure?: boolean } = {}) {
    const result = await runShell(this.conn, command, opts);
    if (result.exitCode !== 0 && !opts.allowFailure) throw commandFailed(this.conn, command, result);
    return result;
  }

  private async apkFiles(paths: string[]): Promise<ApkFile[]> {
    return this.withSync(async (sync) => {
      const apks: ApkFile[] = [];
      for (const path of paths) {
        const st = await sync.stat(path);
        if (!st) throw this.failed(`pm path lists ${path}, which does not exist`);
        apks.push({ path, name: path.slice(path.lastIndexOf('/') + 1), size: st.size });
      }
      return apks;
    });
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

export function dataDirsOf(pkg: string): DataDirs {
  return {
    ce: `/data/user/0/${pkg}`,
    de: `/data/user_de/0/${pkg}`,
    external: `/data/media/0/Android/data/${pkg}`,
    obb: `/data/media/0/Android/obb/${pkg}`,
  };
}

/** `[ro.build.version.sdk]: [33]` lines */
export function parseGetprop(text: string): Record<string, string> {
  const props: Record<string, string> = {};
  for (const m of text.matchAll(/^\[([^\]]+)\]: \[(.*)\]$/gm)) props[m[1] as string] = m[2] as string;
  return props;
}

function linesWith(text: string, prefix: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith(prefix))
    .map((l) => l.slice(prefix.length));
}
