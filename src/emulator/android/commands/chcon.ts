import { type BigIntStats, promises as fsp } from 'node:fs';
import path from 'node:path';
import type { LabelStore } from '../labels.ts';
import type { AndroidProfile } from '../profile.ts';
import type { PhoneRoot } from '../root-path.ts';
import type { Command } from './command.ts';
import { absolute, splitCwd } from './cwd.ts';
import { parseToyboxArgs, strerror, ToyboxUsage } from './toybox-args.ts';

// toybox chcon (toys/other/chcon.c, the same in 0.8.0 and 0.8.9): dirtree_read() of each FILE,
// setfilecon() on every entry (lsetfilecon() with -h), recursing into folders with -R but never
// through links; -v prints "chcon '<path>' to <context>" first. The kernel refuses a context
// that is not valid in the policy with EINVAL; the emulator knows the syntax of Android's
// contexts (user u, role object_r, level s0 with categories c0-c1023), not the policy's type list.

const CONTEXT = /^u:object_r:[a-z_][a-z0-9_]*:s0(:c\d{1,4}([.,]c\d{1,4})*)?$/;

export function validContext(context: string): boolean {
  if (!CONTEXT.test(context)) return false;
  return [...context.matchAll(/c(\d+)/g)].every((m) => Number(m[1]) <= 1023);
}

/** lstats in flight at once while a folder is walked (libuv runs them on its thread pool) */
const STAT_BATCH = 64;

export function chcon(phone: PhoneRoot, labels: LabelStore, profile: AndroidProfile): Command {
  return async (io) => {
    const { cwd, args } = splitCwd(io.args);
    let parsed: ReturnType<typeof parseToyboxArgs>;
    try {
      parsed = parseToyboxArgs('chcon', args, { flags: 'hvR', minArgs: 2 }, profile);
    } catch (err) {
      if (!(err instanceof ToyboxUsage)) throw err;
      io.err(`${err.message}\n`);
      return 1;
    }
    const { flags } = parsed;
    const [context, ...files] = parsed.operands as [string, ...string[]];
    let status = 0;
    const valid = validContext(context);
    // Only an operand can have links in the middle of its path: every entry below it is its
    // folder's canonical path plus a name, so one lstat per entry labels it, as toybox's walk
    // stats each entry relative to its open folder (lib/dirtree.c dirtree_add_node:
    // fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW)); only a link labelled without -h is resolved.
    // `canonical` is the operand's phone path as given until the lstat resolves it. A folder's
    // entries are stat'ed together before they are labelled one by one in readdir order (what
    // -v and the errors print): awaited one at a time, 20,000 lstats took over a second.
    const stat = (canonical: string) => fsp.lstat(phone.hostOf(canonical), { bigint: true });
    const visit = async (
      treePath: string,
      canonical: string,
      top: boolean,
      stated?: Promise<BigIntStats>,
    ): Promise<void> => {
      let st: BigIntStats;
      try {
        if (top) canonical = await phone.canonical(canonical, false);
        st = await (stated ?? stat(canonical));
      } catch (err) {
        // dirtree_add_node: "<parent path>/<name>: <error>"
        io.err(`chcon: ${treePath}: ${strerror(err)}\n`);
        status = 1;
        return;
      }
      if (flags.has('v')) io.out(`chcon '${treePath}' to ${context}\n`);
      try {
        if (!valid) throw Object.assign(new Error('invalid'), { code: 'EINVAL' });
        if (st.isSymbolicLink() && !flags.has('h')) await labels.setOne(canonical, context, { followLast: true });
        else labels.setStat(canonical, st, context);
      } catch (err) {
        io.err(`chcon: '${treePath}' to ${context}: ${strerror(err)}\n`);
        status = 1;
      }
      if (!flags.has('R') || !st.isDirectory()) return;
      const names = await fsp.readdir(phone.hostOf(canonical));
      for (let i = 0; i < names.length; i += STAT_BATCH) {
        const batch = names.slice(i, i + STAT_BATCH).map((name) => path.posix.join(canonical, name));
        const stats = batch.map((entry) => stat(entry));
        for (const s of stats) s.catch(() => {}); // reported in order by visit
        for (const [j, entry] of batch.entries()) {
          const name = names[i + j] as string;
          await visit(`${treePath.replace(/\/$/, '')}/${name}`, entry, false, stats[j]);
        }
      }
    };
    for (const file of files) await visit(file, absolute(cwd, file), true);
    await labels.save();
    return status;
  };
}
