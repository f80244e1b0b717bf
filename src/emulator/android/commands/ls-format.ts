import type { AndroidProfile } from '../profile.ts';
import type { Entry } from './ls-entries.ts';
import { isLong } from './ls-options.ts';

// One line of `ls` output, as toybox's listfiles() prints it (toybox 0.8.9 toys/posix/ls.c:375-470;
// 0.8.0 ls.c:395-500 for Android 10): the widths of each column are the widest of the folder
// (entrylen), numbers right-aligned, names left-aligned, times in UTC (the sandbox has no
// /etc/localtime, so toybox's localtime() is UTC too). Where the context goes differs:
//   0.8.2+: printf(" %-*s "+!FLAG(l), …): after the group, a leading space only with -l itself
//   0.8.0:  inside the long format printf(" %-*s", …), else printf("%-*s ", …)

export interface Names {
  user(uid: number): string;
  group(gid: number): string;
}

export type Widths = number[];

const num = (v: bigint | number) => String(v);

export function entryWidths(e: Entry, flags: Set<string>, names: Names): Widths {
  const len = [0, 0, 0, 0, 0, 0, 0, 0];
  len[1] = flags.has('i') ? num(e.st.ino).length : 0;
  if (isLong(flags)) {
    len[2] = num(e.st.nlink).length;
    len[3] = flags.has('n') ? num(e.st.uid).length : names.user(Number(e.st.uid)).length;
    len[4] = flags.has('n') ? num(e.st.gid).length : names.group(Number(e.st.gid)).length;
    len[5] = isDevice(e) ? num(major(e.st.rdev)).length + 5 : num(e.st.size).length;
  }
  len[7] = flags.has('Z') ? e.context.length : 0;
  return len;
}

export function maxWidths(entries: Entry[], flags: Set<string>, names: Names): Widths {
  const totals = [0, 0, 0, 0, 0, 0, 0, 0];
  for (const e of entries) {
    const len = entryWidths(e, flags, names);
    for (let i = 0; i < 8; i++) totals[i] = Math.max(totals[i] as number, len[i] as number);
  }
  return totals;
}

export function formatEntry(e: Entry, flags: Set<string>, t: Widths, names: Names, profile: AndroidProfile): string {
  const w = (i: number) => t[i] as number;
  const long = isLong(flags);
  let line = '';
  if (flags.has('i')) line += `${num(e.st.ino).padStart(w(1))} `;
  if (long) {
    line += modeString(Number(e.st.mode)) + num(e.st.nlink).padStart(w(2) + 1);
    if (!flags.has('g')) line += ` ${(flags.has('n') ? num(e.st.uid) : names.user(Number(e.st.uid))).padEnd(w(3))}`;
    if (!flags.has('o')) line += ` ${(flags.has('n') ? num(e.st.gid) : names.group(Number(e.st.gid))).padEnd(w(4))}`;
  }
  if (flags.has('Z')) {
    const ctx = e.context.padEnd(w(7));
    if (profile.lsContextFormat === '0.8.0') line += long ? ` ${ctx}` : `${ctx} `;
    else line += flags.has('l') ? ` ${ctx} ` : `${ctx} `;
  }
  if (long) {
    if (isDevice(e)) line += `${num(major(e.st.rdev)).padStart(w(5) - 4)},${num(minor(e.st.rdev)).padStart(4)}`;
    else line += num(e.st.size).padStart(w(5) + 1);
    line += `${` ${timeOf(e, flags)}`.padStart(17)} `;
  }
  line += e.name;
  if (long && e.st.isSymbolicLink()) line += ` -> ${e.link ?? ''}`;
  return line + endType(e, flags);
}

const TYPE_CHARS = new Map([
  [0o040000, 'd'],
  [0o060000, 'b'],
  [0o020000, 'c'],
  [0o120000, 'l'],
  [0o010000, 'p'],
  [0o140000, 's'],
]);

/** toybox mode_to_string (lib/lib.c) */
export function modeString(mode: number): string {
  let out = '';
  for (let i = 8; i >= 0; i--) {
    const bit = mode & (1 << i);
    const which = i % 3;
    const special = Math.floor(i / 3);
    if (which === 0 && mode & (1 << (special + 9))) out += bit ? 'tss'[special] : 'TSS'[special];
    else out += bit ? 'xwr'[which] : '-';
  }
  return (TYPE_CHARS.get(mode & 0o170000) ?? '-') + out;
}

/** -F / -p suffix (endtype) */
function endType(e: Entry, flags: Set<string>): string {
  const mode = Number(e.st.mode);
  if ((flags.has('F') || flags.has('p')) && e.st.isDirectory()) return '/';
  if (!flags.has('F')) return '';
  if (e.st.isSymbolicLink()) return '@';
  if (e.st.isFile() && mode & 0o111) return '*';
  if (e.st.isFIFO()) return '|';
  return e.st.isSocket() ? '=' : '';
}

/** " %F %H:%M" of st_mtime, or of atime (-u) / ctime (-c); only the seconds are replaced, as in filter() */
function timeOf(e: Entry, flags: Set<string>): string {
  const ns = flags.has('u') ? e.st.atimeNs : flags.has('c') ? e.st.ctimeNs : e.st.mtimeNs;
  const iso = new Date(Number(ns / 1_000_000n)).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)}`;
}

/** the seconds and nanoseconds toybox sorts -t by */
export function sortTime(e: Entry, flags: Set<string>): [bigint, bigint] {
  const ns = flags.has('u') ? e.st.atimeNs : flags.has('c') ? e.st.ctimeNs : e.st.mtimeNs;
  return [ns / 1_000_000_000n, e.st.mtimeNs % 1_000_000_000n];
}

const isDevice = (e: Entry) => e.st.isBlockDevice() || e.st.isCharacterDevice();
const major = (dev: bigint) => Number((dev >> 8n) & 0xfffn) | Number((dev >> 32n) & ~0xfffn);
const minor = (dev: bigint) => Number(dev & 0xffn) | Number((dev >> 12n) & ~0xffn);
