import type { Readable } from 'node:stream';
import type { DataPart } from '../android/layout.ts';
import type { SettingsNamespace } from '../android/settings.ts';
import { ERRORS, ServiceError } from '../errors.ts';
import type { PermissionState } from './dumpsys-package.ts';
import type { DisplayFacts } from './hardware-facts.ts';
import type { PathFacts, Unarchivable } from './path-facts.ts';

export type { DataPart } from '../android/layout.ts';
export type { PermissionState } from './dumpsys-package.ts';
export type { DisplayFacts } from './hardware-facts.ts';
export type { PathFacts, Unarchivable } from './path-facts.ts';

// The device port: everything backup and restore need from an Android instance.
// Implementations validate and quote every value before it reaches a device shell.

export interface DeviceProperties {
  /** ro.build.version.release, e.g. "12" */
  androidVersion: string;
  /** ro.build.version.sdk */
  sdk: number;
  /** ro.product.cpu.abi, e.g. "arm64-v8a" */
  abi: string;
  /** ro.build.fingerprint */
  fingerprint: string;
  /**
   * user 0's credential-encrypted storage is unlocked (UserDataPreparer sets sys.user.0.ce_available
   * once the user has unlocked after boot); before that CE folders hold encrypted names and unreadable files
   */
  ceAvailable: boolean;
  /** online CPUs (/proc/cpuinfo); null when the phone does not say (hardware-facts.ts has the sources) */
  cpuCount: number | null;
  /** MemTotal of /proc/meminfo, MiB */
  memoryMb: number | null;
  /** `wm size` and `wm density`, the override when one is set */
  display: DisplayFacts | null;
  /** the first global IPv4 address `ip -o -4 addr` lists */
  networkIp: string | null;
}

export interface ApkFile {
  /** absolute path on the device, as `pm path` prints it */
  path: string;
  /** base name, e.g. "base.apk", "split_config.arm64_v8a.apk" */
  name: string;
  size: number;
}

/** a package as user 0 has it (packageInfo is null when it is not installed for user 0) */
export interface PackageInfo {
  name: string;
  /** user 0's uid, checked against `pm list packages -U` */
  uid: number;
  versionCode: number;
  versionName: string;
  apks: ApkFile[];
  installer: string | null;
  system: boolean;
  sharedUser: string | null;
  /** every user that has it installed (0 among them) */
  installedUsers: number[];
  suspended: boolean;
  /** who holds the suspension, where the release says (11+: one entry per suspending package) */
  suspendedBy: string[];
  runtimePermissions: PermissionState[];
  /** per-user data folders of user 0 */
  dataDirs: DataDirs;
}

export type DataDirs = Record<DataPart, string>;

/** an APK already on the device (staged by a restore), for an install session */
export interface DeviceApk {
  name: string;
  path: string;
  size: number;
}

export interface FileOwner {
  uid: number;
  gid: number;
  /** SELinux context, e.g. "u:object_r:app_data_file:s0:c512,c768"; empty when the device has none */
  context: string;
}

export interface StreamOptions {
  signal?: AbortSignal;
}

export interface EntryAttributes {
  owner?: { uid: number; gid: number };
  /** permission bits with setgid and sticky */
  mode?: number;
  /** whole seconds since the epoch */
  mtime?: number;
}

export interface TarOutOptions extends StreamOptions {
  /** toybox --exclude patterns (fnmatch, already escaped: src/backup/files/source-paths.ts) */
  exclude?: string[];
  /** archive only this entry of dir (a file's name) instead of dir itself */
  member?: string;
}

export interface Device {
  properties(): Promise<DeviceProperties>;
  /** the packages installed for user 0; `thirdParty`: only those not on the system image (`pm list packages -3`) */
  listPackages(opts?: { thirdParty?: boolean }): Promise<string[]>;
  /** null when the package is not installed */
  packageInfo(pkg: string): Promise<PackageInfo | null>;
  forceStop(pkg: string): Promise<void>;
  /** `pm suspend` for user 0; resolves to the state pm reports (false: the package manager refused) */
  suspend(pkg: string): Promise<boolean>;
  unsuspend(pkg: string): Promise<void>;
  /** true when the path exists on the device (a folder or a file) */
  exists(path: string): Promise<boolean>;
  /** bytes used by a folder tree (`du -s`), for progress totals; 0 when it does not exist */
  usage(dir: string): Promise<number>;
  /** numeric owner and SELinux context of a path */
  owner(path: string): Promise<FileOwner>;
  /** a file's bytes (binary-safe, back-pressured) */
  readFile(path: string, opts?: StreamOptions): Readable;
  /** a file's last `bytes` bytes (all of it when shorter), read from the end on the device */
  readTail(path: string, bytes: number, opts?: StreamOptions): Readable;
  /**
   * in one command, what a backup needs of a folder before it copies it: its bytes (as usage)
   * and the paths (relative to it) of the UNIX sockets in it, which tar cannot archive; null
   * when it does not exist
   */
  folderFacts(dir: string): Promise<{ bytes: number; sockets: string[] } | null>;
  /**
   * `tar -cf - -C dir .` as a stream; rejects through the stream if the folder is missing or tar
   * fails, except for the sockets it skips (toybox reports them and exits 1)
   */
  tarOut(dir: string, opts?: TarOutOptions): Readable;
  /** a file backup's look at one path (path-facts.ts); null when it does not exist */
  inspectPath(path: string): Promise<PathFacts | null>;
  /** paths (relative to dir) of what tar cannot or may not carry: sockets, device nodes, setuid files */
  unarchivable(dir: string): Promise<Unarchivable[]>;
  /** the entry's own owner (chown -h), mode and mtime (touch -m), each when given; not its tree */
  setAttributes(path: string, attrs: EntryAttributes): Promise<void>;
  /** extracts a tar stream into dir (created if missing), keeping modes, mtimes and links */
  tarIn(dir: string, tar: Readable, opts?: StreamOptions): Promise<void>;
  /** entries in a tree, the folder itself included (`find dir | wc -l`) */
  countEntries(dir: string): Promise<number>;
  /**
   * renames a file, link or folder; false when `from` does not exist; refuses when `to` exists, so
   * a folder is never moved into another
   */
  move(from: string, to: string): Promise<boolean>;
  /** rm -rf, of several paths in one command */
  remove(...paths: string[]): Promise<void>;
  /** `settings list <ns>`: the provider's name=value pairs (user 0) */
  settings(ns: SettingsNamespace): Promise<Map<string, string>>;
  /** `settings --user 0 put <ns> <key> <value>` */
  putSetting(ns: SettingsNamespace, key: string, value: string): Promise<void>;
  /** for each folder, in one command, the names of its entries that start with `prefix` (none when it is missing) */
  namesIn(dirs: readonly string[], prefix: string): Promise<string[][]>;
  /** installs an APK set already on the device in one install session for user 0 */
  install(apks: DeviceApk[], opts?: StreamOptions & { installer?: string }): Promise<void>;
  /** uninstalls for user 0 only: other users keep the app and their data */
  uninstall(pkg: string): Promise<void>;
  /** true when the package is installed for user 0 */
  isInstalled(pkg: string): Promise<boolean>;
  /** chown -R uid:gid on every entry under dir (links themselves, not their targets) */
  chownTree(dir: string, uid: number, gid: number): Promise<void>;
  /**
   * gives every entry under dir owned by one uid (or group) to another, links themselves, leaving
   * all other owners as they are (shared storage mixes the app's ids with media_rw and ext_*_rw)
   */
  remapOwners(dir: string, uids: [number, number][], gids: [number, number][]): Promise<void>;
  /** recursive relabel: chcon -hR to the given context, or restorecon -RFD to the policy's */
  relabel(dir: string, context?: string): Promise<void>;
  grantPermission(pkg: string, permission: string): Promise<void>;
  revokePermission(pkg: string, permission: string): Promise<void>;
  close(): Promise<void>;
}

/** Opens a Device for an instance's ADB address. */
export type DeviceConnector = (address: string, opts?: StreamOptions) => Promise<Device>;

/** an install session that pm refused, with its `Failure [...]` text */
export class InstallFailed extends ServiceError {
  constructor(
    address: string,
    readonly failure: string,
  ) {
    const e = ERRORS.deviceCommandFailed(address, failure);
    super(e.code, e.httpStatus, e.message);
  }

  /** PackageManager.INSTALL_FAILED_UPDATE_INCOMPATIBLE, _VERSION_DOWNGRADE …, or '' */
  get failureCode(): string {
    return /\b(INSTALL_(?:FAILED|PARSE_FAILED)_[A-Z_]+)/.exec(this.failure)?.[1] ?? '';
  }
}
