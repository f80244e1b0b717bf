import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { am } from './commands/am.ts';
import { chcon } from './commands/chcon.ts';
import { cmd } from './commands/cmd.ts';
import type { Command } from './commands/command.ts';
import { dumpsys } from './commands/dumpsys.ts';
import { getprop } from './commands/getprop.ts';
import { ls } from './commands/ls.ts';
import { pm } from './commands/pm.ts';
import { chconOff, restoreconOff } from './commands/relabel-off.ts';
import { restorecon } from './commands/restorecon.ts';
import { FileContexts } from './file-contexts.ts';
import { LabelStore } from './labels.ts';
import { prepareLayout } from './layout.ts';
import { labelLayout } from './layout-labels.ts';
import { PackageDb } from './package-db.ts';
import { PackageService } from './package-service.ts';
import { type AndroidProfile, DEFAULT_RELEASE, parseRelease, profileFor } from './profile.ts';
import { loadProps } from './props.ts';
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
  props: Record<string, string>;
  /** the Android release it answers as */
  profile: AndroidProfile;
  /** its SELinux labels (labels.ts) */
  labels: LabelStore;
  /**
   * spawns `/system/bin/sh -c command` (a shell reading stdin when command is null) inside the
   * bubblewrap sandbox; stdio = pipes; the child's exit code is the command's
   */
  spawnShell(command: string | null): ChildProcessWithoutNullStreams;
  close(): Promise<void>;
}

export interface PhoneOptions {
  seedApps?: boolean;
  /** SELinux labels (default true): ls -Z, chcon and restorecon work on them; false prints `?` */
  selinux?: boolean;
}

export async function startPhone(root: string, opts: PhoneOptions = {}): Promise<Phone> {
  const selinux = opts.selinux ?? true;
  await fsp.mkdir(root, { recursive: true });
  const hostRoot = await fsp.realpath(root);
  const phoneRoot = new PhoneRoot(hostRoot);
  const userland = await findUserland();
  const prepared = await prepareLayout(phoneRoot, userland, { selinux });
  const props = await loadProps(path.join(hostRoot, 'system', 'build.prop'));
  const profile = profileFor(
    props['ro.build.version.release'] ? parseRelease(props['ro.build.version.release']) : DEFAULT_RELEASE,
  );
  const labels = await LabelStore.open(phoneRoot, new FileContexts(profile));
  phoneRoot.labels = labels;
  await labelLayout(phoneRoot, labels, prepared);
  const packages = new PackageService(phoneRoot, await PackageDb.load(phoneRoot), profile);
  await packages.start();
  if (opts.seedApps) await seedApps(packages);
  const services = { package: pm(packages), activity: am(packages) };
  // restorecon's packages.list: the package manager's uid and targetSdk of a package
  const apps = (pkg: string) => {
    const record = packages.installed(pkg);
    return record && { uid: record.uid, targetSdk: record.targetSdk };
  };
  const labelling: Record<string, Command> = selinux
    ? {
        ls: ls(phoneRoot, labels, profile),
        restorecon: restorecon(phoneRoot, labels, profile, apps),
        chcon: chcon(phoneRoot, labels, profile),
      }
    : { restorecon: restoreconOff(phoneRoot), chcon: chconOff(phoneRoot) };
  const server = await startSystemServer({
    pm: services.package,
    am: services.activity,
    cmd: cmd(services),
    dumpsys: dumpsys(packages),
    getprop: getprop(props),
    ...labelling,
  });
  const spec = { root: hostRoot, socketDir: server.socketDir, userland };
  const children = new Set<ChildProcessWithoutNullStreams>();
  const phone: Phone = {
    root: hostRoot,
    props,
    profile,
    labels,
    spawnShell(command) {
      const child = spawnSandboxed(spec, command);
      children.add(child);
      child.on('close', () => children.delete(child));
      return child;
    },
    async close() {
      for (const child of children) child.kill('SIGKILL');
      await server.close();
    },
  };
  return phone;
}
