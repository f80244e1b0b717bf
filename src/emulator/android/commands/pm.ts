import type { PackageService } from '../package-service.ts';
import type { Command } from './command.ts';
import { packagesSection } from './dumpsys.ts';
import { pmInstall } from './pm-install.ts';
import { listPackages, listUsers } from './pm-list.ts';
import { grant, installExistingCommand, path, suspend, uninstall } from './pm-packages.ts';
import { exception, JavaException, UsageError } from './shell-command.ts';

// pm (= cmd package), after AOSP's PackageManagerShellCommand: same output lines, same exit
// status. An exception the real command would let escape is reported like ShellCommand does.

const INSTALL_COMMANDS = [
  'install',
  'install-create',
  'install-write',
  'install-commit',
  'install-abandon',
  'install-destroy',
];

export function pm(service: PackageService): Command {
  return async (io) => {
    const [command, ...args] = io.args;
    try {
      if (command !== undefined && INSTALL_COMMANDS.includes(command))
        return await pmInstall(service, io, command, args);
      switch (command) {
        case 'path':
          return path(service, io, args);
        case 'list':
          return list(service, io, args);
        case 'dump':
          io.out(await packagesSection(service, args[0]));
          return 0;
        case 'uninstall':
          return await uninstall(service, io, args);
        case 'install-existing':
          return await installExistingCommand(service, io, args);
        case 'suspend':
        case 'unsuspend':
          return await suspend(service, io, args, command === 'suspend');
        case 'grant':
        case 'revoke':
          return await grant(service, args, command);
        case undefined:
          io.err(
            'usage: pm [path|list|dump|install|install-create|install-write|install-commit|uninstall|grant|...]\n',
          );
          return 255;
        default:
          io.err(`Unknown command: ${command}\n`);
          return 255;
      }
    } catch (err) {
      if (err instanceof JavaException) return exception(io, command ?? '', err.message);
      if (!(err instanceof UsageError)) throw err;
      io.err(`${err.message}\n`);
      return 1;
    }
  };
}

/** runList: an unknown type prints on stdout and returns -1 */
function list(service: PackageService, io: CommandIo, args: string[]): number {
  const [what, ...rest] = args;
  if (what === 'users') return listUsers(service, io);
  if (what === 'packages' || what === 'package') return listPackages(service, io, rest);
  io.out(what === undefined ? "Error: didn't specify type of data to list\n" : `Error: unknown list type '${what}'\n`);
  return 255;
}

type CommandIo = Parameters<Command>[0];
