import type { AndroidProfile } from '../profile.ts';

// toybox's option parsing (lib/args.c) for the simple applets the system server answers for
// (chcon "<2hvR", restorecon "<1DFnRrv"): short options cluster and may come after operands, `--`
// ends them, `-` alone is an operand; errors go through help_exit, so they end with
// ` (see "<name> --help")` and exit 1. 0.8.0 (Android 10) prints the unknown option unquoted.

export class ToyboxUsage extends Error {}

export function parseToyboxArgs(
  name: string,
  args: string[],
  spec: { flags: string; minArgs: number },
  profile: AndroidProfile,
): { flags: Set<string>; operands: string[] } {
  const help = (msg: string) => new ToyboxUsage(`${name}: ${msg} (see "${name} --help")`);
  const flags = new Set<string>();
  const operands: string[] = [];
  let options = true;
  for (const arg of args) {
    if (!options || arg === '-' || !arg.startsWith('-')) operands.push(arg);
    else if (arg === '--') options = false;
    else if (arg.startsWith('--')) throw help(`Unknown option ${quote(arg.slice(2), profile)}`);
    else {
      for (let i = 1; i < arg.length; i++) {
        const c = arg[i] as string;
        if (!spec.flags.includes(c)) throw help(`Unknown option ${quote(arg.slice(i), profile)}`);
        flags.add(c);
      }
    }
  }
  if (operands.length < spec.minArgs) {
    // letters[] = {"s", ""}: "Needs 1 argument", "Need 2 arguments"
    const one = spec.minArgs === 1;
    throw help(`Need${one ? 's' : ''} ${spec.minArgs} argument${one ? '' : 's'}`);
  }
  return { flags, operands };
}

const quote = (s: string, profile: AndroidProfile) => (profile.quotesUnknownOption ? `'${s}'` : s);

/** strerror() of the errno behind a Node error, as perror_msg() appends it */
export function strerror(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  const text: Record<string, string> = {
    ENOENT: 'No such file or directory',
    ENOTDIR: 'Not a directory',
    ELOOP: 'Too many levels of symbolic links',
    EACCES: 'Permission denied',
    EROFS: 'Read-only file system',
    EINVAL: 'Invalid argument',
  };
  return (code && text[code]) ?? String((err as Error).message);
}
