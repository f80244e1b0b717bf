import type { AndroidProfile } from '../profile.ts';

// Option parsing for `ls -Z` as toybox's lib/args.c does it for ls's optstring (toybox 0.8.9
// toys/posix/ls.c:15 "(color):;(full-time)(show-control-chars)ZgoACFHLNRSabcdfhikl@mnpqrstuw#=80<0x1
// [-Cxm1][-Cxml][-Cxmo][-Cxmg][-cu][-ftS][-HL][-Nqb]"): short options cluster and may follow the
// operands, `--` ends them, a later option of an exclusive group switches the earlier one off.
// The output is never a terminal here (the bridge relays it), so -1 is implied, as ls_main does
// when stdout is not a tty. Options that change the layout beyond what the emulator reproduces
// are refused with a message saying so rather than printed differently.

export interface LsOptions {
  flags: Set<string>;
  operands: string[];
}

const SUPPORTED = 'ZgoAFHLRSacdilnprtu1';
const UNSUPPORTED = 'Cbfhkmqswx@N';
const LONG_UNSUPPORTED = ['color', 'full-time', 'show-control-chars'];
const EXCLUSIVE = ['cu', 'tS', 'HL'];

export class LsUsageError extends Error {}

export function parseLsArgs(args: string[], profile: AndroidProfile): LsOptions {
  const flags = new Set<string>();
  const operands: string[] = [];
  const unknown = (rest: string) => {
    const shown = profile.quotesUnknownOption ? `'${rest}'` : rest;
    return new LsUsageError(`ls: Unknown option ${shown} (see "ls --help")`);
  };
  const refuse = (what: string) => new LsUsageError(`ls: the emulator does not reproduce ls -Z with ${what}`);
  let options = true;
  for (const arg of args) {
    if (!options || arg === '-' || !arg.startsWith('-')) {
      operands.push(arg);
      continue;
    }
    if (arg === '--') {
      options = false;
      continue;
    }
    if (arg.startsWith('--')) {
      const name = arg.slice(2);
      if (LONG_UNSUPPORTED.some((l) => name === l || name.startsWith(`${l}=`))) throw refuse(`--${name}`);
      throw unknown(name);
    }
    for (let i = 1; i < arg.length; i++) {
      const c = arg[i] as string;
      if (UNSUPPORTED.includes(c) || c === 'w') throw refuse(`-${c}`);
      if (!SUPPORTED.includes(c)) throw unknown(arg.slice(i));
      for (const group of EXCLUSIVE) if (group.includes(c)) for (const other of group) flags.delete(other);
      flags.add(c);
    }
  }
  // ls_main: "-dR" and "-Rd" both mean -d
  if (flags.has('d')) flags.delete('R');
  return { flags, operands };
}

/** -l, -n, -g and -o all give the long format */
export const isLong = (f: Set<string>) => f.has('l') || f.has('n') || f.has('g') || f.has('o');
