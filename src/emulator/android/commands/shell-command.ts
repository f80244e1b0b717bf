import type { CommandIo } from './command.ts';

// Helpers shared by the commands, after Android's ShellCommand: option scanning and the way an
// uncaught exception is reported (stderr, exit status 255).

export class UsageError extends Error {}

/** scans leading options; `withValue` lists those that take one; returns the remaining arguments */
export function scanOptions(
  args: string[],
  known: { flags: string[]; withValue: string[] },
): { options: Map<string, string | true>; rest: string[] } {
  const options = new Map<string, string | true>();
  let i = 0;
  for (; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '-' || !arg.startsWith('-')) break;
    if (arg === '--') {
      i++;
      break;
    }
    if (known.withValue.includes(arg)) {
      const value = args[++i];
      if (value === undefined) throw new UsageError(`Error: option ${arg} needs a value`);
      options.set(arg, value);
    } else if (known.flags.includes(arg)) options.set(arg, true);
    else throw new UsageError(`Error: Unknown option: ${arg}`);
  }
  checkUser(options.get('--user'));
  return { options, rest: args.slice(i) };
}

/** only user 0 exists on the emulated phone */
function checkUser(user: string | true | undefined): void {
  if (user === undefined || user === '0' || user === 'current' || user === 'all' || user === 'cur') return;
  if (user === true || !/^-?\d+$/.test(user)) throw new UsageError(`Error: Bad user number: ${user}`);
  throw new UsageError(`Error: user ${user} not found`);
}

export function exception(io: CommandIo, command: string, text: string): number {
  io.err(`Exception occurred while executing '${command}':\n${text}\n`);
  return 255;
}

export function numberArg(value: string | undefined, what: string): number {
  if (value === undefined || !/^\d{1,15}$/.test(value)) throw new UsageError(`Error: invalid ${what}: ${value ?? ''}`);
  return Number(value);
}
