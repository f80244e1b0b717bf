import { AID, cacheGid } from './accounts.ts';
import type { PhoneRoot } from './root-path.ts';

// An app's per-user folders for user 0, as installd makes them: CE and DE data owned by the app
// (0700), each with cache and code_cache in the cache gid (02771). External and OBB folders are
// not made at install (the app makes them on first use) but go away on uninstall.

export const ceDir = (pkg: string) => `/data/user/0/${pkg}`;
export const deDir = (pkg: string) => `/data/user_de/0/${pkg}`;
export const externalDir = (pkg: string) => `/data/media/0/Android/data/${pkg}`;
export const obbDir = (pkg: string) => `/data/media/0/Android/obb/${pkg}`;

export async function createAppDirs(phone: PhoneRoot, pkg: string, uid: number): Promise<void> {
  for (const dir of [ceDir(pkg), deDir(pkg)]) {
    await phone.ensureDir(dir, uid, uid, 0o700);
    await phone.ensureDir(`${dir}/cache`, uid, cacheGid(uid), 0o2771);
    await phone.ensureDir(`${dir}/code_cache`, uid, cacheGid(uid), 0o2771);
  }
}

export async function removeAppDirs(phone: PhoneRoot, pkg: string): Promise<void> {
  for (const dir of [ceDir(pkg), deDir(pkg), externalDir(pkg), obbDir(pkg)]) await phone.remove(dir);
}

/** external and OBB folders as the app would get them: its uid, group media_rw, setgid */
export async function createExternalDirs(phone: PhoneRoot, pkg: string, uid: number): Promise<void> {
  await phone.ensureDir(externalDir(pkg), uid, AID.mediaRw, 0o2770);
  await phone.ensureDir(obbDir(pkg), uid, AID.mediaRw, 0o2770);
}
