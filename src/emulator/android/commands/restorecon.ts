import { promises as fsp } from 'node:fs';
import type { PhoneRoot } from '../root-path.ts';
import type { Command } from './command.ts';

// No SELinux on the emulated phone: restorecon checks its arguments like toybox's applet and
// succeeds without output, so callers that relabel after a restore run unchanged.
export function restorecon(phone: PhoneRoot): Command {
  return async ({ args, err }) => {
    const paths: string[] = [];
    for (const arg of args) {
      if (/^-[RFDnvr]+$/.test(arg)) continue;
      if (arg.startsWith('-')) {
        err(`restorecon: Unknown option '${arg.slice(1, 2)}'\nusage: restorecon [-D] [-F] [-R] [-n] [-v] FILE...\n`);
        return 1;
      }
      paths.push(arg);
    }
    if (paths.length === 0) {
      err('restorecon: Need 1 argument\nusage: restorecon [-D] [-F] [-R] [-n] [-v] FILE...\n');
      return 1;
    }
    let status = 0;
    for (const p of paths) {
      const phonePath = p.startsWith('/') ? p : `/${p}`;
      const ok = await fsp
        .lstat(await phone.resolve(phonePath, false))
        .then(() => true)
        .catch(() => false);
      if (!ok) {
        err(`restorecon: ${p}: No such file or directory\n`);
        status = 1;
      }
    }
    return status;
  };
}
