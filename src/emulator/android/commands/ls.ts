import { promises as fsp } from 'node:fs';
import type { LabelStore } from '../labels.ts';
import type { AndroidProfile } from '../profile.ts';
import type { PhoneRoot } from '../root-path.ts';
import type { Command } from './command.ts';
import { absolute, splitCwd } from './cwd.ts';
import { type Entry, EntryReader } from './ls-entries.ts';
import { formatEntry, maxWidths, type Names, sortTime } from './ls-format.ts';
import { isLong, LsUsageError, parseLsArgs } from './ls-options.ts';

// `ls` when it is asked for -Z: /system/bin/ls hands those calls to the system server (the
// labels live there) and runs toybox's ls for all others. This follows toybox's ls_main() and
// listfiles() (toys/posix/ls.c 0.8.9:488-560 and 262-490) step by step, quirks included: the
// top level lists files first and then each folder, a single folder is listed without a header
// unless -R, the newline before an entry is printed from the second sorted entry on even when
// the first was a folder skipped at the top.

export function ls(phone: PhoneRoot, labels: LabelStore, profile: AndroidProfile): Command {
  return async (io) => {
    const { cwd, args } = splitCwd(io.args);
    let opts: ReturnType<typeof parseLsArgs>;
    try {
      opts = parseLsArgs(args, profile);
    } catch (err) {
      if (!(err instanceof LsUsageError)) throw err;
      io.err(`${err.message}\n`);
      return 1;
    }
    const { flags } = opts;
    const names = await accountNames(phone);
    const reader = new EntryReader(phone, labels, flags.has('L'));
    let status = 0;
    const top: Entry[] = [];
    // ls_main: command-line links are followed unless -l, -d or -F (then only with -L or -H)
    const follow = !(flags.has('l') || flags.has('d') || flags.has('F')) || flags.has('L') || flags.has('H');
    for (const operand of opts.operands.length > 0 ? opts.operands : ['.']) {
      const phonePath = absolute(cwd, operand);
      try {
        top.push(await reader.operand(operand, phonePath, follow));
      } catch (err) {
        io.err(`ls: ${operand}: ${describe(err)}\n`);
        status = 1;
      }
    }
    const state = { nlTitle: 0, singledir: null as Entry | null, out: '' };
    const list = async (entries: Entry[], dir: Entry | null): Promise<void> => {
      if (dir && (state.singledir !== dir || flags.has('R'))) {
        if (state.nlTitle++) state.out += '\n';
        state.out += `${header(dir.treePath)}:\n`;
      }
      entries.sort(compare(flags));
      const widths = maxWidths(entries, flags, names);
      if (dir && isLong(flags)) state.out += `total ${entries.reduce((n, e) => n + (e.st.blocks >> 1n), 0n)}\n`;
      let printed = false;
      entries.forEach((e, i) => {
        if (e.st.isDirectory() && !dir && !flags.has('d')) return;
        state.nlTitle = 1;
        if (i > 0) state.out += '\n';
        state.out += formatEntry(e, flags, widths, names, profile);
        printed = true;
      });
      if (printed) state.out += '\n';
      io.out(state.out);
      state.out = '';
      for (const e of entries) {
        if (flags.has('d') || !e.st.isDirectory()) continue;
        if (!dir || (flags.has('R') && e.name !== '.' && e.name !== '..')) {
          const children = await reader.children(e, flags.has('a')).catch((err) => {
            io.err(`ls: ${e.name}: ${describe(err)}\n`);
            status = 1;
            return null;
          });
          if (children) await list(filter(children, flags), e);
        }
      }
    };
    const only = top[0];
    if (top.length === 1 && only?.st.isDirectory() && !flags.has('d') && !flags.has('R')) {
      state.singledir = only;
      await list(filter(await reader.children(only, flags.has('a')), flags), only);
    } else await list(top, null);
    return status;
  };
}

/** filter(): -a keeps everything, -A all but "." and "..", otherwise no dot files */
function filter(entries: Entry[], flags: Set<string>): Entry[] {
  if (flags.has('a')) return entries;
  return entries.filter((e) => (flags.has('A') ? e.name !== '.' && e.name !== '..' : !e.name.startsWith('.')));
}

/** compare(): -S size, -t time (then nanoseconds), ties by name (strcmp), -r reverses */
function compare(flags: Set<string>) {
  const reverse = flags.has('r') ? -1 : 1;
  return (a: Entry, b: Entry) => {
    let ret = 0;
    if (flags.has('S')) ret = a.st.size > b.st.size ? -1 : a.st.size < b.st.size ? 1 : 0;
    if (flags.has('t')) {
      const [as, an] = sortTime(a, flags);
      const [bs, bn] = sortTime(b, flags);
      ret = as > bs ? -1 : as < bs ? 1 : an > bn ? -1 : an < bn ? 1 : 0;
    }
    if (!ret) ret = Buffer.compare(Buffer.from(a.name), Buffer.from(b.name));
    return ret * reverse;
  };
}

/** dirtree_path of a listed folder: its last component loses one trailing '/' ("/" prints as "") */
const header = (treePath: string) => (treePath.endsWith('/') ? treePath.slice(0, -1) : treePath);

function describe(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'No such file or directory';
  if (code === 'ENOTDIR') return 'Not a directory';
  if (code === 'ELOOP') return 'Too many levels of symbolic links';
  if (code === 'EACCES') return 'Permission denied';
  return String((err as Error).message);
}

/** getusername/getgroupname: the phone's /etc/passwd and /etc/group, else the number */
async function accountNames(phone: PhoneRoot): Promise<Names> {
  const read = async (file: string) => {
    const text = await fsp.readFile(await phone.resolve(file), 'utf8').catch(() => '');
    const map = new Map<number, string>();
    for (const line of text.split('\n')) {
      const [name, , id] = line.split(':');
      if (name && id && !map.has(Number(id))) map.set(Number(id), name);
    }
    return map;
  };
  const users = await read('/system/etc/passwd');
  const groups = await read('/system/etc/group');
  return { user: (uid) => users.get(uid) ?? String(uid), group: (gid) => groups.get(gid) ?? String(gid) };
}
