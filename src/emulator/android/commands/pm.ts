import type { PackageService } from '../package-service.ts';
import { isKnownPermission, isRuntimePermission } from '../permissions.ts';
import type { Command, CommandIo } from './command.ts';
import { packagesSection } from './dumpsys.ts';
import { pmInstall } from './pm-install.ts';
import { exception, scanOptions, UsageError } from './shell-command.ts';

// pm (= cmd package), after AOSP's PackageManagerShellCommand: same output lines, same exit status.

const USER = { flags: [], withValue: ['--user'] };
const LIST_OPTIONS = {
  flags: ['-f', '-d', '-e', '-s', '-3', '-i', '-l', '-u', '-U', '-a', '--show-versioncode', '--apex-only'],
  withValue: ['--user', '--uid'],
};

export function pm(service: PackageService): Command {
  return async (io) => {
    const [command, ...args] = io.args;
    try {
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
        case 'suspend':
        case 'unsuspend':
          return await suspend(service, io, args, command === 'suspend');
        case 'grant':
        case 'revoke':
          return await grant(service, io, args, command);
        case 'install':
        case 'install-create':
        case 'install-write':
        case 'install-commit':
        case 'install-abandon':
        case 'install-destroy':
          return await pmInstall(service, io, command, args);
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
      if (!(err instanceof UsageError)) throw err;
      io.err(`${err.message}\n`);
      return 1;
    }
  };
}

function path(service: PackageService, io: CommandIo, args: string[]): number {
  const [pkg] = scanOptions(args, USER).rest;
  const record = pkg === undefined ? undefined : service.installed(pkg);
  if (!record) return 1;
  io.out(record.apks.map((a) => `package:${record.codePath}/${a}\n`).join(''));
  return 0;
}

function list(service: PackageService, io: CommandIo, args: string[]): number {
  const [what, ...rest] = args;
  if (what === 'users') {
    io.out('Users:\n\tUserInfo{0:Owner:c13} running\n');
    return 0;
  }
  if (what !== 'packages') {
    io.err(`Error: unknown list type '${what ?? ''}'\n`);
    return 255;
  }
  const { options, rest: filters } = scanOptions(rest, LIST_OPTIONS);
  // no system packages and none disabled on the emulated phone
  if (options.has('-s') || options.has('-d') || options.has('--apex-only')) return 0;
  const uid = options.get('--uid');
  const lines = service.db
    .list(options.has('-u'))
    .filter((p) => filters[0] === undefined || p.name.includes(filters[0]))
    .filter((p) => uid === undefined || String(p.uid) === uid)
    .map((p) => {
      let line = 'package:';
      if (options.has('-f')) line += `${p.codePath}/base.apk=`;
      line += p.name;
      if (options.has('--show-versioncode')) line += ` versionCode:${p.versionCode}`;
      if (options.has('-i')) line += `  installer=${p.installer ?? 'null'}`;
      if (options.has('-U')) line += ` uid:${p.uid}`;
      return `${line}\n`;
    });
  io.out(lines.join(''));
  return 0;
}

async function uninstall(service: PackageService, io: CommandIo, args: string[]): Promise<number> {
  const { options, rest } = scanOptions(args, { flags: ['-k'], withValue: ['--user', '--versionCode'] });
  const [pkg] = rest;
  if (pkg === undefined) throw new UsageError('Error: package name not specified');
  if (!(await service.uninstall(pkg, options.has('-k')))) {
    io.out('Failure [DELETE_FAILED_INTERNAL_ERROR]\n');
    return 1;
  }
  io.out('Success\n');
  return 0;
}

async function suspend(service: PackageService, io: CommandIo, args: string[], suspended: boolean) {
  const pkgs = scanOptions(args, USER).rest;
  if (pkgs.length === 0) throw new UsageError('Error: package name not specified');
  const unknown = pkgs.find((p) => !service.installed(p));
  if (unknown !== undefined) {
    io.out(`java.lang.IllegalArgumentException: Unknown target package: ${unknown}\n`);
    return 1;
  }
  for (const pkg of pkgs) {
    await service.update(pkg, { suspended });
    io.out(`Package ${pkg} new suspended state: ${suspended}\n`);
  }
  return 0;
}

async function grant(service: PackageService, io: CommandIo, args: string[], command: 'grant' | 'revoke') {
  const [pkg, perm] = scanOptions(args, { flags: ['--all-permissions'], withValue: ['--user'] }).rest;
  if (pkg === undefined) throw new UsageError('Error: no package specified');
  if (perm === undefined) throw new UsageError('Error: no permission specified');
  const record = service.installed(pkg);
  const fail = (text: string) => exception(io, command, text);
  if (!record) return fail(`java.lang.IllegalArgumentException: Unknown package: ${pkg}`);
  if (!isKnownPermission(perm)) return fail(`java.lang.IllegalArgumentException: Unknown permission: ${perm}`);
  if (!record.requestedPermissions.includes(perm)) {
    return fail(`java.lang.SecurityException: Package ${pkg} has not requested permission ${perm}`);
  }
  if (!isRuntimePermission(perm)) {
    return fail(
      `java.lang.SecurityException: Permission ${perm} requested by ${pkg} is not a changeable permission type`,
    );
  }
  const others = record.grantedPermissions.filter((p) => p !== perm);
  await service.update(pkg, { grantedPermissions: command === 'grant' ? [...others, perm] : others });
  return 0;
}
