import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { CeLock } from './ce-lock.ts';
import { DEFAULT_DISPLAY_SPEC, type DisplaySpec, DisplayState } from './display.ts';
import { FileContexts } from './file-contexts.ts';
import { LabelStore } from './labels.ts';
import { prepareLayout } from './layout.ts';
import { labelLayout } from './layout-labels.ts';
import { PackageDb } from './package-db.ts';
import { PackageService } from './package-service.ts';
import { phoneCommands } from './phone-commands.ts';
import { userZeroBinds, userZeroMounts } from './phone-mounts.ts';
import { type AndroidProfile, type AndroidRelease, profileFor } from './profile.ts';
import { readBuildProp, releaseOf, runtimeProps, writeDefaultBuildProp } from './props.ts';
import { PhoneRoot } from './root-path.ts';
import { spawnSandboxed } from './sandbox.ts';
import { seedApps } from './seed-apps.ts';
import { startSystemServer } from './system-server.ts';
import { findUserland } from './userland.ts';

// The Android side of the emulated cloud phone: a folder that is the phone's "/", a sandbox
// that runs its shell commands, and the system server behind pm, am, dumpsys and friends.

export interface Phone {
  /** host folder that is the phone's "/" */
  root: string;
  /** getprop values (ro.build.version.release, ro.build.version.sdk, ro.product.cpu.abi …) */
  readonly props: Record<string, string>;
  /** the Android release it answers as */
  profile: AndroidProfile;
  /** its SELinux labels (labels.ts) */
  labels: LabelStore;
  /** the host path that holds a canonical phone path (mounts, locked CE storage), for adbd's sync */
  hostOf(canonicalPhonePath: string): string;
  /**
   * spawns `/system/bin/sh -c command` (a shell reading stdin when command is null) inside the
   * bubblewrap sandbox; stdio = pipes; the child's exit code is the command's
   */
  spawnShell(command: string | null): ChildProcessWithoutNullStreams;
  /** whether user 0's CE storage is locked (before the first unlock after boot) */
  readonly ceLocked: boolean;
  /** locks user 0's CE storage, as after a reboot before the user unlocks (ce-lock.ts); new shells see it */
  lockCe(): Promise<void>;
  /** unlocks it, as entering the PIN does: sys.user.0.ce_available becomes true */
  unlockCe(): Promise<void>;
  close(): Promise<void>;
}

export interface PhoneOptions {
  seedApps?: boolean;
  /** SELinux labels (default true): ls -Z, chcon and restorecon work on them; false prints `?` */
  selinux?: boolean;
  /** the Android release of a new phone folder (default 14); an existing folder must be this one */
  android?: AndroidRelease;
  /** start with user 0's CE storage locked (file-based encryption before the first unlock) */
  lockedCe?: boolean;
  /** the display's physical size and density (default 720x1280 at 320 dpi, display.ts) */
  display?: DisplaySpec;
}

export async function startPhone(root: string, opts: PhoneOptions = {}): Promise<Phone> {
  const selinux = opts.selinux ?? true;
  await fsp.mkdir(root, { recursive: true });
  const hostRoot = await fsp.realpath(root);
  // the release first: a folder of another release is refused before anything in it changes
  const buildProp = path.join(hostRoot, 'system', 'build.prop');
  const existing = await readBuildProp(buildProp);
  const profile = profileFor(releaseOf(existing, opts.android, hostRoot));
  const phoneRoot = new PhoneRoot(hostRoot, userZeroBinds(profile));
  const userland = await findUserland();
  const prepared = await prepareLayout(new PhoneRoot(hostRoot), userland, { selinux, profile });
  const buildProps = existing ?? (await writeDefaultBuildProp(buildProp, profile));
  const labels = await LabelStore.open(phoneRoot, new FileContexts(profile));
  phoneRoot.labels = labels;
  await labelLayout(phoneRoot, labels, prepared);
  const packages = new PackageService(phoneRoot, await PackageDb.load(phoneRoot), profile);
  await packages.start();
  if (opts.seedApps) await seedApps(packages);
  const ce = new CeLock(phoneRoot, labels, profile);
  let fbe = opts.lockedCe ?? false;
  if (opts.lockedCe) await ce.lock();
  const props = () => runtimeProps(buildProps, fbe, ce.locked);
  const display = new DisplayState(phoneRoot, opts.display ?? DEFAULT_DISPLAY_SPEC);
  const server = await startSystemServer(
    phoneCommands({ phone: phoneRoot, labels, profile, packages, props, selinux, display }),
  );
  const mounts = () => [...userZeroMounts(hostRoot, profile), ...ce.mounts()];
  const spec = { root: hostRoot, socketDir: server.socketDir, userland, mounts };
  const children = new Set<ChildProcessWithoutNullStreams>();
  return {
    root: hostRoot,
    get props() {
      return props();
    },
    profile,
    labels,
    hostOf: (p) => phoneRoot.hostOf(p),
    spawnShell(command) {
      const child = spawnSandboxed(spec, command);
      children.add(child);
      child.on('close', () => children.delete(child));
      return child;
    },
    get ceLocked() {
      return ce.locked;
    },
    async lockCe() {
      fbe = true;
      await ce.lock();
    },
    unlockCe: () => ce.unlock(),
    async close() {
      for (const child of children) child.kill('SIGKILL');
      await server.close();
      await ce.unlock();
    },
  };
}
