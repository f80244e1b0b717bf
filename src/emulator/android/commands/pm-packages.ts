import type { PackageService } from '../package-service.ts';
import { UnknownTargetPackage } from '../package-suspend.ts';
import { installExisting } from '../package-users.ts';
import { USER_ALL, USER_CURRENT } from '../users.ts';
import type { CommandIo } from './command.ts';
import { sourceDir } from './pm-list.ts';
import { JavaException, scanOptions, UsageError, userOption } from './shell-command.ts';

// pm path, uninstall, install-existing, suspend/unsuspend and grant/revoke, with the output and
// exit status of PackageManagerShellCommand (A11 Ankits-lab@150a9240: runPath l.569,
// runUninstall l.1956, runInstallExisting l.1469, runSuspend l.2186, runGrantRevokePermission l.2264).

const USER = { flags: [], withValue: ['--user'] };

/** displayPackageFilePath: the base APK then each split; nothing and 1 when user does not have it */
export function path(service: PackageService, io: CommandIo, args: string[]): number {
  const { options, rest } = scanOptions(args, USER);
  const user = userOption(options, 0, false);
  const [pkg] = rest;
  if (pkg === undefined) throw new UsageError('Error: no package specified');
  const record = service.installedFor(pkg, user);
  if (!record) return 1;
  const splits = record.code.apks.slice(1).map((a) => `package:${record.code.path}/${a}\n`);
  io.out(`package:${sourceDir(record)}\n${splits.join('')}`);
  return 0;
}

export async function uninstall(service: PackageService, io: CommandIo, args: string[]): Promise<number> {
  let parsed: ReturnType<typeof scanOptions>;
  try {
    parsed = scanOptions(args, { flags: ['-k'], withValue: ['--user', '--versionCode'] });
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.out(`${err.message}\n`);
    return 1;
  }
  const { options, rest } = parsed;
  const [pkg] = rest;
  if (pkg === undefined) {
    io.out('Error: package name not specified\n');
    return 1;
  }
  const user = userOption(options, USER_ALL, true);
  if (user !== USER_ALL && !service.installedFor(pkg, user)) {
    io.out(`Failure [not installed for ${user}]\n`);
    return 1;
  }
  const versionCode = options.get('--versionCode');
  const record = service.db.get(pkg);
  const failure =
    typeof versionCode === 'string' && record && String(record.code.versionCode) !== versionCode
      ? 'DELETE_FAILED_INTERNAL_ERROR'
      : await service.uninstall(pkg, user, options.has('-k'));
  io.out(failure === null ? 'Success\n' : `Failure [${failure}]\n`);
  return failure === null ? 0 : 1;
}

export async function installExistingCommand(service: PackageService, io: CommandIo, args: string[]) {
  const { options, rest } = scanOptions(args, {
    flags: ['--ephemeral', '--instant', '--full', '--wait', '--restrict-permissions'],
    withValue: ['--user'],
  });
  const [pkg] = rest;
  if (pkg === undefined) {
    io.out('Error: package name not specified\n');
    return 1;
  }
  const user = userOption(options, USER_CURRENT, false);
  if (!(await installExisting(service, pkg, user))) {
    io.out(`android.content.pm.PackageManager$NameNotFoundException: Package ${pkg} doesn't exist\n`);
    return 1;
  }
  io.out(`Package ${pkg} installed for user: ${user}\n`);
  return 0;
}

/** as root the suspending package is "root" (runSuspend: ROOT_UID ? "root" : "com.android.shell") */
export async function suspend(service: PackageService, io: CommandIo, args: string[], suspended: boolean) {
  const options = new Map<string, string | true>();
  let i = 0;
  for (; i < args.length && (args[i] as string).startsWith('-'); i++) {
    const opt = args[i] as string;
    if (opt === '--user' || opt === '--dialogMessage') options.set(opt, args[++i] ?? '');
    else if (/^--(ael|aes|aed|lel|les|led)$/.test(opt)) i += 2;
    else {
      io.out(`Error: Unknown option: ${opt}\n`);
      return 1;
    }
  }
  const pkg = args[i];
  if (pkg === undefined) {
    io.out('Error: package name not specified\n');
    return 1;
  }
  try {
    const user = userOption(options, 0, false);
    const state = await service.suspend(pkg, user, suspended);
    io.out(`Package ${pkg} new suspended state: ${state}\n`);
    return 0;
  } catch (err) {
    // RemoteException | IllegalArgumentException → pw.println(e.toString()), exit 1
    if (!(err instanceof UnknownTargetPackage || err instanceof JavaException)) throw err;
    io.out(`${err.message}\n`);
    return 1;
  }
}

export async function grant(service: PackageService, args: string[], command: 'grant' | 'revoke') {
  const options = new Map<string, string | true>();
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    // getNextOption: options come first; only --user means anything, others are skipped
    if (rest.length === 0 && arg.startsWith('-') && arg !== '-') {
      if (arg === '--user') options.set(arg, args[++i] ?? '');
      continue;
    }
    rest.push(arg);
  }
  const [pkg, perm] = rest;
  if (pkg === undefined) throw new UsageError('Error: no package specified');
  if (perm === undefined) throw new UsageError('Error: no permission specified');
  await service.grant(pkg, perm, userOption(options, 0, false), command === 'grant');
  return 0;
}
