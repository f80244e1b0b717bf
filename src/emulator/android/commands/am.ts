import type { PackageService } from '../package-service.ts';
import { forceStop } from '../package-users.ts';
import { USER_ALL } from '../users.ts';
import type { Command } from './command.ts';
import { exception, JavaException, scanOptions, UsageError, userOption } from './shell-command.ts';

// am (= cmd activity) force-stop, after ActivityManagerShellCommand.runForceStop: every user
// unless --user, silent (also for unknown packages and users), exit 0. No app processes run on
// the emulated phone, so force-stop only marks the package stopped, as ActivityManager leaves it.
export function am(service: PackageService): Command {
  return async (io) => {
    const [command, ...args] = io.args;
    if (command !== 'force-stop' && command !== 'kill') {
      io.err(`Unknown command: ${command ?? ''}\n`);
      return 255;
    }
    try {
      const { options, rest } = scanOptions(args, { flags: [], withValue: ['--user'] });
      const user = userOption(options, USER_ALL, true);
      const [pkg] = rest;
      // getNextArgRequired
      if (pkg === undefined)
        throw new JavaException(
          'java.lang.IllegalArgumentException',
          `Argument expected after "${args.at(-1) ?? command}"`,
        );
      if (command === 'force-stop') await forceStop(service, pkg, user);
      return 0;
    } catch (err) {
      if (err instanceof JavaException) return exception(io, command, err.message);
      if (!(err instanceof UsageError)) throw err;
      // "Error: Unknown option: …" on stderr, return -1
      io.err(`${err.message}\n`);
      return 255;
    }
  };
}
