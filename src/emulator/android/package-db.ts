import { promises as fsp } from 'node:fs';
import { z } from 'zod';
import { AID } from './accounts.ts';
import type { PhoneRoot } from './root-path.ts';

// The package database, the emulator's /data/system/packages.xml: kept as JSON in the phone's
// own /data/system, so it lives and dies with the phone folder, and validated on load because
// the phone's root shell can edit it.

const PACKAGE = /^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)+$/;

const packageRecord = z.object({
  name: z.string().regex(PACKAGE),
  uid: z.number().int().min(AID.appStart).max(19999),
  /** e.g. /data/app/~~Xb3…==/com.example.notes-Qz9…== */
  codePath: z.string().regex(/^\/data\/app\/~~[A-Za-z0-9_-]+==\/[A-Za-z0-9_.]+-[A-Za-z0-9_-]+==$/),
  /** file names in codePath: base.apk first, then split_<name>.apk */
  apks: z.array(z.string().regex(/^(base|split_[A-Za-z0-9_.]+)\.apk$/)),
  splits: z.array(z.string()),
  versionCode: z.number().int().nonnegative(),
  versionName: z.string(),
  minSdk: z.number().int(),
  targetSdk: z.number().int(),
  signerDigest: z.string().regex(/^[0-9a-f]{64}$/),
  signatureScheme: z.number().int().min(1).max(3),
  requestedPermissions: z.array(z.string()),
  grantedPermissions: z.array(z.string()),
  installer: z.string().nullable(),
  firstInstallTime: z.number(),
  lastUpdateTime: z.number(),
  /** false after `pm uninstall -k`: code gone, data and uid kept for a reinstall */
  installed: z.boolean(),
  suspended: z.boolean(),
  stopped: z.boolean(),
});

const dbFile = z.object({
  version: z.literal(1),
  /** uids are never reused on one phone */
  nextAppId: z.number().int().min(0),
  packages: z.array(packageRecord),
});

export type PackageRecord = z.infer<typeof packageRecord>;

const DB_PATH = '/data/system/packages.json';

export class PackageDb {
  private constructor(
    private readonly phone: PhoneRoot,
    private nextAppId: number,
    private readonly packages: Map<string, PackageRecord>,
  ) {}

  static async load(phone: PhoneRoot): Promise<PackageDb> {
    const host = await phone.resolve(DB_PATH);
    const text = await fsp.readFile(host, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null;
      throw err;
    });
    const data = text === null ? { version: 1 as const, nextAppId: 0, packages: [] } : dbFile.parse(JSON.parse(text));
    return new PackageDb(phone, data.nextAppId, new Map(data.packages.map((p) => [p.name, p])));
  }

  get(name: string): PackageRecord | undefined {
    return this.packages.get(name);
  }

  /** installed packages (and, with `withUninstalled`, those uninstalled with -k), by name */
  list(withUninstalled = false): PackageRecord[] {
    return [...this.packages.values()]
      .filter((p) => p.installed || withUninstalled)
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  allocateUid(): number {
    return AID.appStart + this.nextAppId++;
  }

  async put(record: PackageRecord): Promise<void> {
    this.packages.set(record.name, packageRecord.parse(record));
    await this.save();
  }

  async remove(name: string): Promise<void> {
    this.packages.delete(name);
    await this.save();
  }

  private async save(): Promise<void> {
    const host = await this.phone.resolve(DB_PATH);
    const data = { version: 1, nextAppId: this.nextAppId, packages: this.list(true) };
    // 'wx' refuses to write through a link planted at the temporary name
    await fsp.rm(`${host}.tmp`, { force: true });
    await fsp.writeFile(`${host}.tmp`, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    await fsp.lchown(`${host}.tmp`, AID.system, AID.system);
    await fsp.rename(`${host}.tmp`, host);
  }
}
