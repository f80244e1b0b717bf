import type { Readable } from 'node:stream';

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
}

export interface ApkFile {
  /** absolute path on the device, as `pm path` prints it */
  path: string;
  /** base name, e.g. "base.apk", "split_config.arm64_v8a.apk" */
  name: string;
  size: number;
}

export interface PackageInfo {
  name: string;
  uid: number;
  versionCode: number;
  versionName: string;
  apks: ApkFile[];
  grantedPermissions: string[];
  /** per-user data folders of user 0 */
  dataDirs: DataDirs;
}

export type DataPart = 'ce' | 'de' | 'external' | 'obb';
export type DataDirs = Record<DataPart, string>;

export interface FileOwner {
  uid: number;
  gid: number;
  /** SELinux context, e.g. "u:object_r:app_data_file:s0:c512,c768"; empty when the device has none */
  context: string;
}

export interface StreamOptions {
  signal?: AbortSignal;
}

export interface Device {
  properties(): Promise<DeviceProperties>;
  listPackages(): Promise<string[]>;
  /** null when the package is not installed */
  packageInfo(pkg: string): Promise<PackageInfo | null>;
  forceStop(pkg: string): Promise<void>;
  suspend(pkg: string): Promise<void>;
  unsuspend(pkg: string): Promise<void>;
  /** true when the path exists on the device (a folder or a file) */
  exists(path: string): Promise<boolean>;
  /** bytes used by a folder tree (`du -s`), for progress totals; 0 when it does not exist */
  usage(dir: string): Promise<number>;
  /** numeric owner and SELinux context of a path */
  owner(path: string): Promise<FileOwner>;
  /** a file's bytes (binary-safe, back-pressured) */
  readFile(path: string, opts?: StreamOptions): Readable;
  /** `tar -cf - -C dir .` as a stream; rejects through the stream if the folder is missing */
  tarOut(dir: string, opts?: StreamOptions): Readable;
  /** extracts a tar stream into dir (created if missing), keeping modes, mtimes and links */
  tarIn(dir: string, tar: Readable, opts?: StreamOptions): Promise<void>;
  /** installs an APK set (base + splits) in one install session */
  install(apks: { name: string; size: number; open: () => Readable }[], opts?: StreamOptions): Promise<void>;
  uninstall(pkg: string): Promise<void>;
  /** chown -R uid:gid on every entry under dir (links themselves, not their targets) */
  chownTree(dir: string, uid: number, gid: number): Promise<void>;
  /** recursive relabel: restorecon -R, or chcon -R -h to the given context */
  relabel(dir: string, context?: string): Promise<void>;
  grantPermission(pkg: string, permission: string): Promise<void>;
  /** removes a folder's contents, leaving the folder itself */
  clearDir(dir: string): Promise<void>;
  close(): Promise<void>;
}

/** Opens a Device for an instance's ADB address. */
export type DeviceConnector = (address: string, opts?: StreamOptions) => Promise<Device>;
