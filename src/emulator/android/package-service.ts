import { promises as fsp } from 'node:fs';
import type { Readable } from 'node:stream';
import { prepareUserStorage } from './app-dirs.ts';
import { InstallSession, type SessionParams } from './install-session.ts';
import { writeAccounts } from './layout.ts';
import type { PackageDb } from './package-db.ts';
import { grantOrRevoke } from './package-grant.ts';
import { installFromSession } from './package-install.ts';
import { setPermission } from './package-permissions.ts';
import { isInstalledFor, type PackageRecord, type UserState, userStateOf } from './package-records.ts';
import { deletePackage } from './package-remove.ts';
import { setSuspended } from './package-suspend.ts';
import { type AndroidProfile, DEFAULT_RELEASE, profileFor } from './profile.ts';
import type { PhoneRoot } from './root-path.ts';
import { scanSystemApps } from './system-apps.ts';
import { USER_IDS, type UserInfo, uidOf, usersOf } from './users.ts';

// The package manager service behind pm, am and dumpsys: install sessions, the package database,
// per-user state, app folders. Installs, uninstalls and state changes run one at a time, as
// PackageManagerService serialises them on its install lock.

export { InstallFailure } from './install-check.ts';

export class PackageService {
  private readonly sessions = new Map<number, InstallSession>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly phone: PhoneRoot,
    readonly db: PackageDb,
    readonly profile: AndroidProfile = profileFor(DEFAULT_RELEASE),
  ) {}

  /** boot: users' storage, the system image's apps, and the leftovers of interrupted sessions */
  async start(): Promise<void> {
    for (const user of USER_IDS) await prepareUserStorage(this.phone, this.profile, user);
    const appDir = await this.phone.resolve('/data/app');
    for (const name of await fsp.readdir(appDir)) {
      if (/^vmdl\d+\.tmp$/.test(name)) await this.phone.remove(`/data/app/${name}`);
    }
    await this.serial(() => scanSystemApps(this));
    await this.syncAccounts();
    running.set(this.phone.root, this);
  }

  users(): UserInfo[] {
    return usersOf(this.profile);
  }

  async createSession(params: SessionParams): Promise<number> {
    const session = await InstallSession.create(this.phone, params, (id) => this.sessions.has(id));
    this.sessions.set(session.id, session);
    return session.id;
  }

  session(id: number): InstallSession {
    const session = this.sessions.get(id);
    if (!session) throw new Error(`java.lang.SecurityException: Caller has no access to session ${id}`);
    return session;
  }

  async write(id: number, name: string, source: Readable, size: number | null): Promise<number> {
    return this.session(id).write(this.phone, name, source, size);
  }

  async abandon(id: number): Promise<void> {
    await this.session(id).abandon(this.phone);
    this.sessions.delete(id);
  }

  /** installs the session's APK set; throws InstallFailure with the package manager's reason */
  async commit(id: number): Promise<PackageRecord> {
    const session = this.session(id);
    this.sessions.delete(id);
    try {
      return await this.serial(async () => {
        const record = await installFromSession(this, session);
        await this.syncAccounts();
        return record;
      });
    } finally {
      await session.abandon(this.phone);
    }
  }

  serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => {});
    return run;
  }

  /** the package if user has it installed (what getPackageInfo(pkg, 0, user) finds) */
  installedFor(pkg: string, user: number): PackageRecord | undefined {
    const record = this.db.get(pkg);
    return record && isInstalledFor(record, user) ? record : undefined;
  }

  /** null on success, else the DELETE_FAILED_* status; user = USER_ALL for every user */
  async uninstall(pkg: string, user: number, keepData: boolean): Promise<string | null> {
    return this.serial(async () => {
      const failure = await deletePackage(this, pkg, user, keepData);
      await this.syncAccounts();
      return failure;
    });
  }

  /** `pm suspend`/`unsuspend` as the shell's caller package ("root" for uid 0); the new state */
  suspend(pkg: string, user: number, suspended: boolean, callingPackage = 'root'): Promise<boolean> {
    return setSuspended(this, pkg, user, suspended, callingPackage);
  }

  /** for tests: suspends a package as another party would (Digital Wellbeing, a device policy …) */
  suspendAs(pkg: string, user: number, suspendingPackage: string): Promise<boolean> {
    return setSuspended(this, pkg, user, true, suspendingPackage);
  }

  grant(pkg: string, perm: string, user: number, grant: boolean): Promise<void> {
    return grantOrRevoke(this, pkg, perm, user, grant);
  }

  /** for tests: sets a permission's state and flags (PackageManager.FLAG_PERMISSION_*) for one user of the package's appId */
  setPermissionState(
    pkg: string,
    user: number,
    perm: string,
    state: { granted: boolean; flags: number },
  ): Promise<void> {
    return this.serial(async () => {
      const record = this.db.get(pkg);
      if (!record) throw new Error(`unknown package ${pkg}`);
      setPermission(this.db, record.appId, user, perm, state);
      await this.db.save();
    });
  }

  /** packages.list's view of a package installed for user 0 (what restorecon and run-as read): its appId and targetSdk */
  installed(pkg: string): { uid: number; targetSdk: number } | undefined {
    const record = this.installedFor(pkg, 0);
    return record && { uid: record.appId, targetSdk: record.code.targetSdk };
  }

  /** changes one user's state of a known package (no-op for unknown packages) */
  updateUser(pkg: string, user: number, change: (state: UserState) => UserState): Promise<void> {
    return this.serial(async () => {
      const record = this.db.get(pkg);
      if (!record) return;
      await this.db.put({ ...record, users: { ...record.users, [String(user)]: change(userStateOf(record, user)) } });
    });
  }

  async hostFiles(phonePaths: string[]) {
    return Promise.all(phonePaths.map(async (p) => ({ phonePath: p, hostPath: await this.phone.resolve(p, false) })));
  }

  /** /etc/passwd and /etc/group name every app uid of every user */
  async syncAccounts(): Promise<void> {
    const uids = this.db.list().flatMap((p) => USER_IDS.map((u) => uidOf(u, p.appId)));
    await writeAccounts(this.phone, uids);
  }
}

const running = new Map<string, PackageService>();

/** for tests and tools: the package service of a running phone, by its host folder */
export function packageServiceOf(phone: { root: string }): PackageService {
  const service = running.get(phone.root);
  if (!service) throw new Error(`no running package service for ${phone.root}`);
  return service;
}
