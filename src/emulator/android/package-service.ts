import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { AID } from './accounts.ts';
import { createAppDirs, removeAppDirs } from './app-dirs.ts';
import { checkInstall } from './install-check.ts';
import { InstallSession, type SessionParams } from './install-session.ts';
import { writeAccounts } from './layout.ts';
import type { PackageDb, PackageRecord } from './package-db.ts';
import { isRuntimePermission } from './permissions.ts';
import type { PhoneRoot } from './root-path.ts';

// The package manager service behind pm: install sessions, the package database, app folders
// and per-user state (suspended, stopped, runtime permission grants).

export { InstallFailure } from './install-check.ts';

const randomName = () => `${randomBytes(16).toString('base64url')}==`;

export class PackageService {
  private readonly sessions = new Map<number, InstallSession>();
  // installs, uninstalls and state changes run one at a time, as in PackageManagerService
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly phone: PhoneRoot,
    readonly db: PackageDb,
  ) {}

  /** leftovers of sessions that a restart interrupted, like PackageInstallerService on boot */
  async start(): Promise<void> {
    const appDir = await this.phone.resolve('/data/app');
    for (const name of await fsp.readdir(appDir)) {
      if (/^vmdl\d+\.tmp$/.test(name)) await this.phone.remove(`/data/app/${name}`);
    }
    await this.syncAccounts();
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
      return await this.serial(() => this.install(session));
    } finally {
      await session.abandon(this.phone);
    }
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => {});
    return run;
  }

  private async install(session: InstallSession): Promise<PackageRecord> {
    const staged = await this.hostFiles(session.files());
    const plan = await checkInstall(staged, session.params, async (pkg) => {
      const record = this.db.get(pkg);
      if (!record) return undefined;
      const apks = record.installed ? await this.hostFiles(record.apks.map((a) => `${record.codePath}/${a}`)) : [];
      return { record, apks };
    });
    const pkg = plan.base.packageName;
    const existing = plan.existing?.record;
    const inherited = new Set(plan.existing?.apks.map((a) => a.hostPath));

    const codeParent = `/data/app/~~${randomName()}`;
    const codePath = `${codeParent}/${pkg}-${randomName()}`;
    await this.phone.ensureDir(codeParent, AID.system, AID.system, 0o771);
    const codeHost = await this.phone.ensureDir(codePath, AID.system, AID.system, 0o775);
    for (const apk of plan.apks) {
      const dest = path.join(codeHost, apk.name);
      // inherited APKs stay in the old code folder until it goes, so they are copied
      if (inherited.has(apk.hostPath)) await fsp.copyFile(apk.hostPath, dest);
      else await fsp.rename(apk.hostPath, dest);
      await fsp.lchown(dest, AID.system, AID.system);
      await fsp.chmod(dest, 0o644);
    }
    if (existing?.installed) await this.phone.remove(path.posix.dirname(existing.codePath));

    const now = Date.now();
    const requested = plan.base.permissions;
    const kept = (existing?.grantedPermissions ?? []).filter((p) => requested.includes(p));
    const record: PackageRecord = {
      name: pkg,
      uid: existing?.uid ?? this.db.allocateUid(),
      codePath,
      apks: plan.apks.map((a) => a.name),
      splits: plan.apks.flatMap((a) => (a.split === null ? [] : [a.split])),
      versionCode: plan.base.versionCode,
      versionName: plan.base.versionName,
      minSdk: plan.base.minSdk,
      targetSdk: plan.base.targetSdk,
      signerDigest: plan.base.signerDigest as string,
      signatureScheme: plan.base.signatureScheme ?? 1,
      requestedPermissions: requested,
      grantedPermissions: session.params.grantAll ? requested.filter(isRuntimePermission) : kept,
      installer: session.params.installer ?? existing?.installer ?? null,
      firstInstallTime: existing?.firstInstallTime ?? now,
      lastUpdateTime: now,
      installed: true,
      suspended: existing?.installed ? existing.suspended : false,
      stopped: existing?.installed ? existing.stopped : true,
    };
    await createAppDirs(this.phone, pkg, record.uid);
    await this.db.put(record);
    await this.syncAccounts();
    return record;
  }

  /** false when the package is unknown */
  uninstall(pkg: string, keepData: boolean): Promise<boolean> {
    return this.serial(() => this.remove(pkg, keepData));
  }

  private async remove(pkg: string, keepData: boolean): Promise<boolean> {
    const record = this.db.get(pkg);
    if (!record?.installed) return false;
    await this.phone.remove(path.posix.dirname(record.codePath));
    if (keepData) {
      await this.db.put({ ...record, installed: false, apks: [], splits: [], grantedPermissions: [] });
    } else {
      await removeAppDirs(this.phone, pkg);
      await this.db.remove(pkg);
    }
    await this.syncAccounts();
    return true;
  }

  installed(pkg: string): PackageRecord | undefined {
    const record = this.db.get(pkg);
    return record?.installed ? record : undefined;
  }

  update(pkg: string, change: Partial<Pick<PackageRecord, 'suspended' | 'stopped' | 'grantedPermissions'>>) {
    return this.serial(async () => {
      const record = this.installed(pkg);
      if (record) await this.db.put({ ...record, ...change });
    });
  }

  private async hostFiles(phonePaths: string[]) {
    return Promise.all(phonePaths.map(async (p) => ({ phonePath: p, hostPath: await this.phone.resolve(p, false) })));
  }

  private async syncAccounts(): Promise<void> {
    await writeAccounts(
      this.phone,
      this.db.list(true).map((p) => p.uid),
    );
  }
}
