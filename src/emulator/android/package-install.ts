import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { AID } from './accounts.ts';
import { createAppDirs } from './app-dirs.ts';
import { checkInstall, InstallFailure } from './install-check.ts';
import type { InstallSession } from './install-session.ts';
import { reconcilePermissions } from './package-permissions.ts';
import { absentUser, codeRecordOf, type PackageRecord, type UserState, userStateOf } from './package-records.ts';
import type { PackageService } from './package-service.ts';
import { USER_ALL, USER_IDS } from './users.ts';

// A session commit (PackageManagerService.installPackagesLI): checks, the code folder, the
// package setting with its per-user state, permissions and the app folders of the users it is
// installed for. Without --user it is installed for every user (INSTALL_ALL_USERS).

const randomName = () => `${randomBytes(16).toString('base64url')}==`;

/** PackageManagerServiceUtils.getNextCodePath: 10 /data/app/<pkg>-<rand>, 11+ under a random parent */
function newCodePath(service: PackageService, pkg: string): { dir: string; parent: string | null } {
  if (service.profile.packages.codeLayout === 'flat') return { dir: `/data/app/${pkg}-${randomName()}`, parent: null };
  const parent = `/data/app/~~${randomName()}`;
  return { dir: `${parent}/${pkg}-${randomName()}`, parent };
}

/** the folder to delete with a /data/app code path: its random parent on 11+ */
export const codeFolder = (codePath: string) =>
  codePath.startsWith('/data/app/~~') ? path.posix.dirname(codePath) : codePath;

export async function installFromSession(service: PackageService, session: InstallSession): Promise<PackageRecord> {
  const { db, phone } = service;
  const params = session.params;
  const staged = await service.hostFiles(session.files());
  const plan = await checkInstall(staged, params, async (pkg) => {
    const record = db.get(pkg);
    if (!record) return undefined;
    const apks = record.codeInstalled
      ? await service.hostFiles(record.code.apks.map((a) => `${record.code.path}/${a}`))
      : [];
    return { record, apks };
  });
  const { base } = plan;
  const pkg = base.packageName;
  const existing = plan.existing?.record;
  const appId = existing?.appId ?? sharedUserAppId(service, base.sharedUserId, pkg, base.signerDigest as string);

  const code = newCodePath(service, pkg);
  if (code.parent) await phone.ensureDir(code.parent, AID.system, AID.system, 0o771);
  const codeHost = await phone.ensureDir(code.dir, AID.system, AID.system, 0o775);
  const inherited = new Set(plan.existing?.apks.map((a) => a.hostPath));
  for (const apk of plan.apks) {
    const dest = path.join(codeHost, apk.name);
    // inherited APKs stay in the old code folder until it goes, so they are copied
    if (inherited.has(apk.hostPath)) await fsp.copyFile(apk.hostPath, dest);
    else await fsp.rename(apk.hostPath, dest);
    await fsp.lchown(dest, AID.system, AID.system);
    await fsp.chmod(dest, 0o644);
  }
  // the system copy in /system stays; an earlier update or plain install goes
  if (existing?.codeInstalled && existing.code.path.startsWith('/data/app/'))
    await phone.remove(codeFolder(existing.code.path));

  const now = Date.now();
  const targets = params.user === USER_ALL ? [...USER_IDS] : [params.user];
  const users: Record<string, UserState> = { ...(existing?.users ?? {}) };
  for (const user of targets) {
    const before = existing ? userStateOf(existing, user) : undefined;
    if (before?.installed && existing?.codeInstalled) continue;
    // Settings.createNewSetting: a new, non-system package starts stopped and not launched
    users[String(user)] = {
      ...(before ?? freshUser()),
      installed: true,
      stopped: true,
      notLaunched: true,
      firstInstallTime: now,
    };
  }
  const record: PackageRecord = {
    name: pkg,
    appId,
    sharedUser: base.sharedUserId,
    code: codeRecordOf(base, code.dir, plan.apks),
    codeInstalled: true,
    system: existing?.system ?? null,
    installer: params.installer ?? existing?.installer ?? null,
    initiator: service.profile.packages.shellInitiator,
    firstInstallTime: existing?.firstInstallTime ?? now,
    lastUpdateTime: now,
    users,
  };
  await db.put(record);
  reconcilePermissions(db, appId, [...USER_IDS], params.grantAll);
  await db.save();
  for (const user of USER_IDS) {
    if (!record.users[String(user)]?.installed) continue;
    await createAppDirs(phone, user, pkg, appId, record.code.targetSdk);
  }
  return record;
}

const freshUser = (): UserState => ({ ...absentUser(), installed: true });

/** the appId of a new package: its shared user's (whose signer it must share), else a new one */
function sharedUserAppId(service: PackageService, sharedUser: string | null, pkg: string, signer: string): number {
  const appId = sharedUser === null ? undefined : service.db.sharedUserAppId(sharedUser);
  if (appId === undefined || sharedUser === null) return service.db.allocateAppId();
  const member = service.db.members(sharedUser)[0];
  if (member && member.code.signerDigest !== signer) {
    // PackageManagerServiceUtils.verifySignatures (A11 l.690), wrapped by installPackagesLI's
    // setError("Reconciliation failed...", e)
    throw new InstallFailure(
      `INSTALL_FAILED_SHARED_USER_INCOMPATIBLE: Reconciliation failed...: Package ${pkg} has no signatures that match those in shared user ${sharedUser}; ignoring!`,
    );
  }
  return appId;
}
