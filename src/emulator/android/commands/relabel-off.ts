import { promises as fsp } from 'node:fs';
import type { PhoneRoot } from '../root-path.ts';
import type { CommandIo } from './command.ts';
import { absolute, splitCwd } from './cwd.ts';

// `emulator --no-selinux`: a phone without SELinux labels, where ls -Z prints `?` (toybox's own
// ls) and restorecon and chcon check their arguments and succeed without output, so callers
// that relabel after a restore run unchanged.

const USAGE = {
  restorecon: 'usage: restorecon [-D] [-F] [-R] [-n] [-v] FILE...',
  chcon: 'usage: chcon [-hRv] CONTEXT FILE...',
};
const OPTIONS = { restorecon: /^-[RFDnvr]+$/, chcon: /^-[hRv]+$/ };
const CONTEXT = /^[a-z_][a-z0-9_]*:[a-z_][a-z0-9_]*:[a-z_][a-z0-9_]*:s\d+(-s\d+)?(:c\d+([.,]c\d+)*)?$/;

function relabel(phone: PhoneRoot, name: 'restorecon' | 'chcon') {
  return async (io: CommandIo): Promise<number> => {
    const { cwd, args } = splitCwd(io.args);
    const operands: string[] = [];
    for (const arg of args) {
      if (OPTIONS[name].test(arg) && operands.length === 0) continue;
      if (arg.startsWith('-') && operands.length === 0) {
        io.err(`${name}: Unknown option '${arg.slice(1, 2)}'\n${USAGE[name]}\n`);
        return 1;
      }
      operands.push(arg);
    }
    const context = name === 'chcon' ? operands.shift() : undefined;
    if (operands.length === 0) {
      io.err(`${name}: Need ${name === 'chcon' ? 2 : 1} arguments\n${USAGE[name]}\n`);
      return 1;
    }
    if (context !== undefined && !CONTEXT.test(context)) {
      io.err(`chcon: '${context}': Invalid argument\n`);
      return 1;
    }
    let status = 0;
    for (const p of operands) {
      const exists = await phone
        .resolve(absolute(cwd, p), false)
        .then((host) => fsp.lstat(host))
        .then(
          () => true,
          () => false,
        );
      if (!exists) {
        io.err(`${name}: ${p}: No such file or directory\n`);
        status = 1;
      }
    }
    return status;
  };
}

export const restoreconOff = (phone: PhoneRoot) => relabel(phone, 'restorecon');
export const chconOff = (phone: PhoneRoot) => relabel(phone, 'chcon');
