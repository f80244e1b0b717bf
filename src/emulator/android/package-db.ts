import { promises as fsp } from 'node:fs';
import { AID } from './accounts.ts';
import { type DbFile, dbFile, type PackageRecord, type PermissionState, packageRecord } from './package-records.ts';
import type { PhoneRoot } from './root-path.ts';

// The package database: JSON in the phone's own /data/system, so it lives and dies with the phone
// folder, validated on load because the phone's root shell can edit it. Version 2 holds per-user
// state; a version 1 file (one user, no shared users) is refused rather than guessed at.

export type { PackageRecord } from './package-records.ts';

const DB_PATH = '/data/system/packages.json';

export class PackageDbError extends Error {}

export class PackageDb {
  private constructor(
    private readonly phone: PhoneRoot,
    private readonly data: DbFile,
  ) {}

  static async load(phone: PhoneRoot): Promise<PackageDb> {
    const host = await phone.resolve(DB_PATH);
    const text = await fsp.readFile(host, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null;
      throw err;
    });
    if (text === null)
      return new PackageDb(phone, { version: 2, nextAppId: 0, packages: [], sharedUsers: [], permissions: {} });
    const raw = JSON.parse(text) as { version?: unknown };
    if (raw.version !== 2) {
      throw new PackageDbError(
        `${DB_PATH} is a version ${String(raw.version)} package database; this emulator reads version 2 ` +
          '(per-user state, shared users). Start from a fresh phone folder, or delete that file and reinstall the apps.',
      );
    }
    return new PackageDb(phone, dbFile.parse(raw));
  }

  get(name: string): PackageRecord | undefined {
    return this.data.packages.find((p) => p.name === name);
  }

  /** every package the database knows (installed for some user, or kept with -k), by name */
  list(): PackageRecord[] {
    return [...this.data.packages].sort((a, b) => a.name.localeCompare(b.name));
  }

  allocateAppId(): number {
    return AID.appStart + this.data.nextAppId++;
  }

  sharedUserAppId(name: string): number | undefined {
    return this.data.sharedUsers.find((s) => s.name === name)?.appId;
  }

  sharedUsers(): { name: string; appId: number }[] {
    return [...this.data.sharedUsers];
  }

  members(sharedUser: string): PackageRecord[] {
    return this.list().filter((p) => p.sharedUser === sharedUser);
  }

  /** permission states of an appId for one user, in the order they were first set */
  permissions(appId: number, user: number): Map<string, PermissionState> {
    return new Map(Object.entries(this.data.permissions[String(appId)]?.[String(user)] ?? {}));
  }

  setPermissions(appId: number, user: number, states: Map<string, PermissionState>): void {
    const byUser = this.data.permissions[String(appId)] ?? {};
    byUser[String(user)] = Object.fromEntries(states);
    this.data.permissions[String(appId)] = byUser;
  }

  async put(record: PackageRecord): Promise<void> {
    const parsed = packageRecord.parse(record);
    const others = this.data.packages.filter((p) => p.name !== record.name);
    this.data.packages = [...others, parsed];
    if (parsed.sharedUser && this.sharedUserAppId(parsed.sharedUser) === undefined) {
      this.data.sharedUsers.push({ name: parsed.sharedUser, appId: parsed.appId });
    }
    await this.save();
  }

  /** forgets a package; its appId's permissions and shared user go with its last holder */
  async remove(name: string): Promise<void> {
    const gone = this.get(name);
    this.data.packages = this.data.packages.filter((p) => p.name !== name);
    if (gone && !this.data.packages.some((p) => p.appId === gone.appId)) {
      delete this.data.permissions[String(gone.appId)];
      this.data.sharedUsers = this.data.sharedUsers.filter((s) => s.appId !== gone.appId);
    }
    await this.save();
  }

  async save(): Promise<void> {
    const host = await this.phone.resolve(DB_PATH);
    const data = { ...this.data, packages: this.list() };
    // 'wx' refuses to write through a link planted at the temporary name
    await fsp.rm(`${host}.tmp`, { force: true });
    await fsp.writeFile(`${host}.tmp`, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    await fsp.lchown(`${host}.tmp`, AID.system, AID.system);
    await fsp.rename(`${host}.tmp`, host);
  }
}
