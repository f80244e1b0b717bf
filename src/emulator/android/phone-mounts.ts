import path from 'node:path';
import type { AndroidProfile } from './profile.ts';
import type { Binds } from './root-path.ts';

// The mounts an Android phone has inside /data that the sandbox reproduces with bwrap binds, and
// the same mounts as the system server's PhoneRoot sees them. Android 11+ mounts /data/data on
// /data/user/0 (vold FsCrypt.cpp prepare_special_dirs, lineage-21.0:564-566: BindMount(data_data_dir,
// data_user_0_dir)); the phone folder keeps that data at /data/user/0 (layout-data.ts), so the
// sandbox binds it on both paths and the system server reads /data/data from there.

export function userZeroBinds(profile: AndroidProfile): Binds {
  return profile.userZero === 'bind' ? [['/data/data', '/data/user/0']] : [];
}

export function userZeroMounts(root: string, profile: AndroidProfile): string[] {
  if (profile.userZero !== 'bind') return [];
  const zero = path.join(root, 'data/user/0');
  return ['--bind', zero, '/data/user/0', '--bind', zero, '/data/data'];
}
