import { promises as fsp } from 'node:fs';
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
    const visit = async (treePath: string, phonePath: string): Promise<void> => {
      let st: Awaited<ReturnType<typeof fsp.lstat>>;
      try {
        st = await fsp.lstat(await phone.resolve(phonePath, false));
      } catch (err) {
        // dirtree_add_node: "<parent path>/<name>: <error>"
        io.err(`chcon: ${treePath}: ${strerror(err)}\n`);
        status = 1;
        return;
      }
      if (flags.has('v')) io.out(`chcon '${treePath}' to ${context}\n`);
      try {
        if (!validContext(context)) throw Object.assign(new Error('invalid'), { code: 'EINVAL' });
        await labels.setOne(phonePath, context, { followLast: !flags.has('h') });
      } catch (err) {
        io.err(`chcon: '${treePath}' to ${context}: ${strerror(err)}\n`);
        status = 1;
      }
      if (!flags.has('R') || !st.isDirectory()) return;
      const dir = await fsp.opendir(await phone.resolve(phonePath, false));
      for await (const entry of dir) {
        await visit(`${treePath.replace(/\/$/, '')}/${entry.name}`, `${phonePath}/${entry.name}`);
      }
    };
    for (const file of files) await visit(file, absolute(cwd, file));
    await labels.save();
    return status;
  };
}
