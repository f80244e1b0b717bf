import { am } from './commands/am.ts';
import { chcon } from './commands/chcon.ts';
import { cmd } from './commands/cmd.ts';
import type { Command } from './commands/command.ts';
import { dumpsys } from './commands/dumpsys.ts';
import { getprop } from './commands/getprop.ts';
import { ip } from './commands/ip.ts';
import { ls } from './commands/ls.ts';
import { pm } from './commands/pm.ts';
import { chconOff, restoreconOff } from './commands/relabel-off.ts';
import { restorecon } from './commands/restorecon.ts';
import { settings } from './commands/settings.ts';
import { window } from './commands/window.ts';
import type { DisplayState } from './display.ts';
import type { LabelStore } from './labels.ts';
import type { PackageService } from './package-service.ts';
import type { AndroidProfile } from './profile.ts';
import type { PhoneRoot } from './root-path.ts';
import { SettingsStore } from './settings-store.ts';

// The Android commands the system server answers for the bridge script (layout.ts links them).

export interface CommandDeps {
  phone: PhoneRoot;
  labels: LabelStore;
  profile: AndroidProfile;
  packages: PackageService;
  /** the current props (some change while the phone runs) */
  props: () => Record<string, string>;
  selinux: boolean;
  /** the phone's display, behind `cmd window` and `wm` */
  display: DisplayState;
}

export function phoneCommands({
  phone,
  labels,
  profile,
  packages,
  props,
  selinux,
  display,
}: CommandDeps): Record<string, Command> {
  const services = {
    package: pm(packages),
    activity: am(packages),
    settings: settings(new SettingsStore(phone)),
    window: window(display),
  };
  // restorecon's packages.list: the package manager's uid and targetSdk of a package
  const apps = (pkg: string) => packages.installed(pkg);
  const labelling: Record<string, Command> = selinux
    ? {
        ls: ls(phone, labels, profile),
        restorecon: restorecon(phone, labels, profile, apps),
        chcon: chcon(phone, labels, profile),
      }
    : { restorecon: restoreconOff(phone), chcon: chconOff(phone) };
  return {
    pm: services.package,
    am: services.activity,
    settings: services.settings,
    cmd: cmd(services),
    dumpsys: dumpsys(packages),
    getprop: getprop(props),
    ip: ip(),
    ...labelling,
  };
}
