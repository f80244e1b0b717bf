import type { EntryAttributes } from './device.ts';
import { fileName, numericId, quote } from './shell-args.ts';

// The shell side of what a file backup asks about a phone path (Device.inspectPath and
// Device.unarchivable): scripts built from already validated paths, and parsers of what the
// phone's toybox prints. Every command here exists in toybox 0.8.0 (Android 10) and later:
// `readlink -e` (toys/other/readlink.c: "Canonical path to existing entry (fail if missing)"),
// `stat -c` with %f (raw mode, hex), %u, %g, %Y (toys/other/stat.c 0.8.0 help text), `ls -dZ`
// ("<context> <name>", "?" with SELinux off: toys/posix/ls.c), and `find -type [bcs]`, `-perm -MODE`
// and `-print0` (toys/posix/find.c 0.8.0 help text, lines 29, 36, 45).

export interface PathFacts {
  /** `readlink -e`: the path with every symlink resolved */
  realPath: string;
  type: 'directory' | 'file' | 'symlink' | 'other';
  uid: number;
  gid: number;
  /** permission bits with setuid, setgid and sticky */
  mode: number;
  mtime: number;
  /** SELinux context; '' when the phone reports none */
  context: string;
  /** root may still be refused (a FUSE or vendor filesystem): `[ -r ]`, and `[ -x ]` for a folder */
  readable: boolean;
}

export type Unarchivable = { path: string; type: 'socket' | 'device' | 'setuid' };

/** prints `absent`, or the real path (NUL-terminated), `stat` and `ls -dZ` lines, and `readable` */
export function inspectScript(path: string): string {
  const p = quote(path);
  return [
    `r=$(readlink -e ${p}) || { echo absent; exit 0; }`,
    `printf '%s\\0' "$r"`,
    `stat -c '%f %u %g %Y' ${p}`,
    `ls -dZ ${p}`,
    `if [ -r ${p} ] && { [ ! -d ${p} ] || [ -x ${p} ]; }; then echo readable; fi`,
  ].join('\n');
}

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const typeOf = (mode: number): PathFacts['type'] =>
  (mode & S_IFMT) === S_IFDIR
    ? 'directory'
    : (mode & S_IFMT) === S_IFREG
      ? 'file'
      : (mode & S_IFMT) === S_IFLNK
        ? 'symlink'
        : 'other';

/** null for `absent`; undefined when the output is not what the script prints */
export function parseInspect(stdout: string): PathFacts | null | undefined {
  if (stdout.trim() === 'absent') return null;
  const nul = stdout.indexOf('\0');
  if (nul < 0) return undefined;
  const [stat = '', label = '', flag = ''] = stdout
    .slice(nul + 1)
    .replace(/^\n/, '')
    .split('\n');
  const m = /^([0-9a-f]+) (\d+) (\d+) (-?\d+)$/.exec(stat.trim());
  if (!m) return undefined;
  const raw = Number.parseInt(m[1] as string, 16);
  const context = label.trim().split(/\s+/)[0] ?? '';
  return {
    realPath: stdout.slice(0, nul).replace(/\n$/, ''),
    type: typeOf(raw),
    uid: Number(m[2]),
    gid: Number(m[3]),
    mode: raw & 0o7777,
    mtime: Number(m[4]),
    context: context === '?' ? '' : context,
    readable: flag.trim() === 'readable',
  };
}

// `//` can never be a name find prints below `.`, so it separates the three lists
const SEPARATOR = '//';

/** what under dir tar cannot (sockets) or may not (device nodes, setuid files) carry */
export function unarchivableScript(dir: string): string {
  return [
    `cd ${quote(dir)} || exit 1`,
    'find . -type s -print0',
    `printf '${SEPARATOR}\\0'`,
    'find . \\( -type b -o -type c \\) -print0',
    `printf '${SEPARATOR}\\0'`,
    'find . -type f -perm -4000 -print0',
  ].join('\n');
}

export function parseUnarchivable(stdout: string): Unarchivable[] {
  const kinds: Unarchivable['type'][] = ['socket', 'device', 'setuid'];
  let k = 0;
  const out: Unarchivable[] = [];
  for (const name of stdout.split('\0')) {
    if (name === SEPARATOR) k++;
    else if (name && kinds[k]) out.push({ path: name.replace(/^\.\//, ''), type: kinds[k] as Unarchivable['type'] });
  }
  return out;
}

/** one name inside tar's -C folder, quoted; "./" keeps a name that starts with "-" from reading as an option */
export const tarMember = (name: string) => quote(`./${fileName(name)}`);

// touch -d takes YYYY-MM-DDThh:mm:SS with a trailing Z for UTC on every release (toys/posix/touch.c:
// 0.8.0 tries "%Y-%m-%dT%T" after stripping the Z and setting TZ=UTC0; 0.8.9 xparsedate)
const LAST_ISO_SECOND = 253_402_300_799; // 9999-12-31T23:59:59Z

/** chown -h, chmod, touch -m of one entry, in that order (chown may clear setgid); '' when nothing to do */
export function attributesScript(path: string, attrs: EntryAttributes): string {
  const p = quote(path);
  const steps: string[] = [];
  if (attrs.owner)
    steps.push(`chown -h ${numericId(attrs.owner.uid, 'Uid')}:${numericId(attrs.owner.gid, 'Gid')} ${p}`);
  if (attrs.mode !== undefined) {
    if (numericId(attrs.mode, 'Mode') > 0o7777) throw new Error(`mode ${attrs.mode} is not a permission mode`);
    steps.push(`chmod ${attrs.mode.toString(8)} ${p}`);
  }
  if (attrs.mtime !== undefined && numericId(attrs.mtime, 'Mtime') <= LAST_ISO_SECOND) {
    steps.push(`touch -c -m -d ${new Date(attrs.mtime * 1000).toISOString().slice(0, 19)}Z ${p}`);
  }
  return steps.join(' && ');
}
