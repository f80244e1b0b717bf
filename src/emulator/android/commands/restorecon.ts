import { promises as fsp } from 'node:fs';
import type { PhoneRoot } from '../root-path.ts';
import type { CommandIo } from './command.ts';

// No SELinux on the emulated phone: restorecon and chcon check their arguments like toybox's
// applets and succeed without output, so callers that relabel after a restore run unchanged.

const USAGE = {
  restorecon: 'usage: restorecon [-D] [-F] [-R] [-n] [-v] FILE...',
  chcon: 'usage: chcon [-hRv] CONTEXT FILE...',
};
const OPTIONS = { restorecon: /^-[RFDnvr]+$/, chcon: /^-[hRv]+$/ };
const CONTEXT = /^[a-z_][a-z0-9_]*:[a-z_][a-z0-9_]*:[a-z_][a-z0-9_]*:s\d+(-s\d+)?(:c\d+([.,]c\d+)*)?$/;

function relabel(phone: PhoneRoot, name: 'restorecon' | 'chcon') {
  return async ({ args, err }: CommandIo): Promise<number> => {
    const operands: string[] = [];
    for (const arg of args) {
      if (OPTIONS[name].test(arg) && operands.length === 0) continue;
      if (arg.startsWith('-') && operands.length === 0) {
        err(`${name}: Unknown option '${arg.slice(1, 2)}'\n${USAGE[name]}\n`);
        return 1;
      }
      operands.push(arg);
    }
    const context = name === 'chcon' ? operands.shift() : undefined;
    if (operands.length === 0) {
      err(`${name}: Need ${name === 'chcon' ? 2 : 1} arguments\n${USAGE[name]}\n`);
      return 1;
    }
    if (context !== undefined && !CONTEXT.test(context)) {
      err(`chcon: '${context}': Invalid argument\n`);
      return 1;
    }
    let status = 0;
    for (const p of operands) {
      const exists = await phone
        .resolve(p.startsWith('/') ? p : `/${p}`, false)
        .then((host) => fsp.lstat(host))
        .then(
          () => true,
          () => false,
        );
      if (!exists) {
        err(`${name}: ${p}: No such file or directory\n`);
        status = 1;
      }
    }
    return status;
  };
}

export const restorecon = (phone: PhoneRoot) => relabel(phone, 'restorecon');
export const chcon = (phone: PhoneRoot) => relabel(phone, 'chcon');
