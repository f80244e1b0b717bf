import type { PackageService } from '../package-service.ts';
import type { Command } from './command.ts';
import { scanOptions, UsageError } from './shell-command.ts';

// am (= cmd activity): no app processes run on the emulated phone, so force-stop only marks the
// package stopped, as ActivityManager leaves it; like the real one it is silent for unknown packages.
export function am(service: PackageService): Command {
  return async (io) => {
    const [command, ...args] = io.args;
    if (command !== 'force-stop' && command !== 'kill') {
      io.err(`Unknown command: ${command ?? ''}\n`);
      return 255;
    }
    try {
      const [pkg] = scanOptions(args, { flags: [], withValue: ['--user'] }).rest;
      if (pkg === undefined) throw new UsageError('Error: package name not specified');
      if (command === 'force-stop') await service.update(pkg, { stopped: true });
      return 0;
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      io.err(`${err.message}\n`);
      return 1;
    }
  };
}
