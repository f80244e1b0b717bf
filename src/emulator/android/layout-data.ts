import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { AID } from './accounts.ts';
import type { AndroidProfile } from './profile.ts';
import type { PhoneRoot } from './root-path.ts';

// Android's /data as init.rc, vold and sdcardfs leave it, per release, for the users 0 (owner)
// and 10 (work profile). Owners and modes: init.rc's mkdir lines (/data/user 0711 system,
// /data/media 0770 media_rw, /data/local 0751 root, /data/local/tmp 0771 shell, /data/system 0775
// system, /data/media/obb 0770 media_rw) and vold FsCrypt.cpp prepare_user_storage (lineage-21.0
// :947-1030: /data/user/<n> and /data/user_de/<n> 0771 system, /data/media/<n> media_rw with
// profile.mediaUserMode); the Android/ folders per profile.androidDirs.
//
// User 0's CE folder: Android 10's init.rc has `symlink /data/data /data/user/0`; from 11 on
// /data/data is a folder and /data/user/0 a bind mount of it (vold prepare_special_dirs,
// FsCrypt.cpp lineage-21.0:531-566). In the phone folder the data of user 0 is kept at
// /data/user/0 on 11+ (so tools on the host find it where they always did); the sandbox mounts
// that folder on both /data/user/0 and /data/data (sandbox.ts), and the system server resolves
// /data/data to it (PhoneRoot binds). Both are then mount points in the sandbox: a rename between
// /data/data and the rest of /data fails with EXDEV, which on a phone only /data/user/0 does.

export const USERS = [0, 10] as const;
const { root: ROOT, system: SYSTEM, mediaRw: MEDIA_RW, shell: SHELL } = AID;

type Dir = [phonePath: string, uid: number, gid: number, mode: number];

export function dataDirs(profile: AndroidProfile): Dir[] {
  const dirs: Dir[] = [
    ['/data', SYSTEM, SYSTEM, 0o771],
    ['/data/app', SYSTEM, SYSTEM, 0o771],
    ['/data/user', SYSTEM, SYSTEM, 0o711],
    ['/data/user_de', SYSTEM, SYSTEM, 0o711],
    ['/data/media', MEDIA_RW, MEDIA_RW, 0o770],
    ['/data/media/obb', MEDIA_RW, MEDIA_RW, 0o770],
    ['/data/local', ROOT, ROOT, 0o751],
    ['/data/local/tmp', SHELL, SHELL, 0o771],
    ['/data/system', SYSTEM, SYSTEM, 0o775],
    ['/storage', ROOT, ROOT, 0o751],
    ['/storage/emulated', ROOT, ROOT, 0o751],
  ];
  // user 0's CE folder: the real folder as the phone folder keeps it (see above)
  dirs.push(
    profile.userZero === 'symlink' ? ['/data/data', SYSTEM, SYSTEM, 0o771] : ['/data/user/0', SYSTEM, SYSTEM, 0o771],
  );
  const { android, data, obb, media } = profile.androidDirs;
  for (const user of USERS) {
    if (user !== 0) dirs.push([`/data/user/${user}`, SYSTEM, SYSTEM, 0o771]);
    dirs.push([`/data/user_de/${user}`, SYSTEM, SYSTEM, 0o771]);
    const root = `/data/media/${user}`;
    dirs.push([root, MEDIA_RW, MEDIA_RW, profile.mediaUserMode], [`${root}/Android`, ...android]);
    dirs.push([`${root}/Android/data`, ...data], [`${root}/Android/obb`, ...obb]);
    if (media) dirs.push([`${root}/Android/media`, ...media]);
  }
  return dirs;
}

export const DATA_LINKS: [string, string][] = [
  ['/storage/emulated/0', '/data/media/0'],
  ['/sdcard', '/storage/emulated/0'],
];

/** makes /data in the phone folder (a PhoneRoot without binds: the folder as it is stored) */
export async function prepareData(folder: PhoneRoot, profile: AndroidProfile): Promise<string[]> {
  const dirs = dataDirs(profile);
  for (const [dir, uid, gid, mode] of dirs) {
    if (dir === '/data/user') await userZero(folder, profile);
    await folder.ensureDir(dir, uid, gid, mode);
  }
  return [...dirs.map(([dir]) => dir), '/data/data', '/data/user/0', ...DATA_LINKS.map(([link]) => link)];
}

/**
 * Android 10: /data/user/0 → /data/data. 11+: /data/data is an empty mount point. Folders made
 * before releases were modelled had /data/data → /data/user/0, with the data in /data/user/0.
 */
async function userZero(folder: PhoneRoot, profile: AndroidProfile): Promise<void> {
  const data = path.join(folder.root, 'data/data');
  const st = await fsp.lstat(data).catch(() => null);
  if (profile.userZero === 'bind') {
    if (st?.isSymbolicLink()) await fsp.rm(data);
    if (!st?.isDirectory()) await folder.ensureDir('/data/data', SYSTEM, SYSTEM, 0o700);
    return;
  }
  await folder.ensureDir('/data/user', SYSTEM, SYSTEM, 0o711);
  const zero = path.join(folder.root, 'data/user/0');
  if (!(await fsp.lstat(zero).catch(() => null))) await fsp.symlink('/data/data', zero);
}
