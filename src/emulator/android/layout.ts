import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { AID, accountFiles } from './accounts.ts';
import { BRIDGE_NAME, BRIDGE_SCRIPT } from './bridge-script.ts';
import { DATA_LINKS, prepareData } from './layout-data.ts';
import type { AndroidProfile } from './profile.ts';
import type { PhoneRoot } from './root-path.ts';
import type { Userland } from './userland.ts';
import { CWD_BRIDGE_SCRIPT, DU_0_8_0_SCRIPT, LS_SCRIPT, WM_SCRIPT } from './wrappers.ts';

// What a phone folder holds before the sandbox starts: the read-only system image (/system, with
// toybox applet links and the Android commands), mount points for what the sandbox binds in, and
// Android's /data layout with its owners and modes (layout-data.ts).

export const ANDROID_COMMANDS = ['pm', 'cmd', 'am', 'getprop', 'dumpsys', 'settings', 'ip'];
/** Android commands that take paths: scripts that pass the working folder along (wrappers.ts) */
export const PATH_COMMANDS = ['restorecon', 'chcon'];

export interface LayoutOptions {
  /** SELinux labels: /system/bin/ls asks the system server for -Z (wrappers.ts) */
  selinux: boolean;
  profile: AndroidProfile;
}

const { root: ROOT, shell: SHELL } = AID;

const TOP_DIRS = ['/proc', '/dev', '/tmp', '/system', '/system/bin', '/system/etc'];

/**
 * `phone` is the folder as it is stored (a PhoneRoot without binds); returns the phone paths of
 * the folders and links it made, for their first labels
 */
export async function prepareLayout(phone: PhoneRoot, userland: Userland, opts: LayoutOptions): Promise<string[]> {
  for (const dir of TOP_DIRS) {
    await phone.ensureDir(dir, ROOT, dir === '/system/bin' ? SHELL : ROOT, 0o755);
  }
  for (const lib of userland.libraries) await mountPoint(phone, lib);
  await placeholder(phone, '/system/bin/sh');
  await placeholder(phone, '/system/bin/toybox');
  const scripts: Record<string, string> = Object.fromEntries(PATH_COMMANDS.map((c) => [c, CWD_BRIDGE_SCRIPT]));
  if (opts.selinux) scripts.ls = LS_SCRIPT;
  scripts.wm = WM_SCRIPT;
  if (!opts.profile.duHasApparentBytes) scripts.du = DU_0_8_0_SCRIPT;
  const own = [...ANDROID_COMMANDS, ...Object.keys(scripts)];
  const links = [...userland.applets.filter((a) => a !== 'sh' && !own.includes(a))];
  for (const applet of links) await symlink(phone, `/system/bin/${applet}`, 'toybox');
  await writeFile(phone, `/system/bin/${BRIDGE_NAME}`, BRIDGE_SCRIPT, 0o755);
  for (const command of ANDROID_COMMANDS) await symlink(phone, `/system/bin/${command}`, BRIDGE_NAME);
  for (const [command, script] of Object.entries(scripts))
    await writeFile(phone, `/system/bin/${command}`, script, 0o755);
  const data = await prepareData(phone, opts.profile);
  const symlinks: [string, string][] = [...DATA_LINKS, ['/etc', '/system/etc']];
  for (const [link, target] of symlinks) {
    const host = await phone.resolve(link, false);
    if (!(await fsp.lstat(host).catch(() => null))) await fsp.symlink(target, host);
  }
  return [...TOP_DIRS, ...data, '/etc'];
}

/** /etc/passwd and /etc/group for the installed apps' uids */
export async function writeAccounts(phone: PhoneRoot, appUids: number[]): Promise<void> {
  const { passwd, group } = accountFiles(appUids);
  await writeFile(phone, '/system/etc/passwd', passwd, 0o644);
  await writeFile(phone, '/system/etc/group', group, 0o644);
}

async function mountPoint(phone: PhoneRoot, hostFile: string): Promise<void> {
  let dir = '';
  for (const part of path.dirname(hostFile).split('/').filter(Boolean)) {
    dir += `/${part}`;
    const host = await phone.resolve(dir, false);
    const st = await fsp.lstat(host).catch(() => null);
    if (!st?.isDirectory()) await phone.ensureDir(dir, ROOT, ROOT, 0o755);
  }
  await placeholder(phone, hostFile);
}

async function placeholder(phone: PhoneRoot, phonePath: string): Promise<void> {
  const host = await phone.resolve(phonePath, false);
  const st = await fsp.lstat(host).catch(() => null);
  if (st?.isFile()) return;
  if (st) await fsp.rm(host, { recursive: true, force: true });
  await fsp.writeFile(host, '', { mode: 0o644 });
}

async function symlink(phone: PhoneRoot, phonePath: string, target: string): Promise<void> {
  const host = await phone.resolve(phonePath, false);
  const current = await fsp.readlink(host).catch(() => null);
  if (current === target) return;
  await fsp.rm(host, { recursive: true, force: true });
  await fsp.symlink(target, host);
}

async function writeFile(phone: PhoneRoot, phonePath: string, text: string, mode: number): Promise<void> {
  const host = await phone.resolve(phonePath, false);
  await fsp.rm(host, { recursive: true, force: true });
  await fsp.writeFile(host, text, { mode });
  await fsp.chmod(host, mode);
}
