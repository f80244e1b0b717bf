import { JavaException } from '../package-grant.ts';
import { BadUserArg, parseUserArg, resolveUser } from '../users.ts';
import type { CommandIo } from './command.ts';

// Helpers shared by the commands, after Android's ShellCommand: option scanning, --user, and the
// way an uncaught exception is reported (BasicShellCommandHandler.exec: an empty line, then
// "Exception occurred while executing '<cmd>':" and the stack trace on stderr, exit status 255;
// the emulator prints the exception line and no stack frames).

export { JavaException };

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
  return { options, rest: args.slice(i) };
}

/**
 * the user a command acts on: --user through UserHandle.parseUserArg and handleIncomingUser
 * (`fallback` when absent); USER_ALL only where `allowAll`, else a Java exception
 */
export function userOption(options: Map<string, string | true>, fallback: number, allowAll: boolean): number {
  const value = options.get('--user');
  try {
    return resolveUser(typeof value === 'string' ? parseUserArg(value) : fallback, allowAll);
  } catch (err) {
    if (!(err instanceof BadUserArg)) throw err;
    throw new JavaException('java.lang.IllegalArgumentException', err.message);
  }
}

export function exception(io: CommandIo, command: string, text: string): number {
  io.err(`\nException occurred while executing '${command}':\n${text}\n`);
  return 255;
}

export function numberArg(value: string | undefined, what: string): number {
  if (value === undefined || !/^\d{1,15}$/.test(value)) throw new UsageError(`Error: invalid ${what}: ${value ?? ''}`);
  return Number(value);
}
