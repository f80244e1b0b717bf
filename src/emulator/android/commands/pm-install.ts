import { createReadStream, promises as fsp } from 'node:fs';
import { InstallFailure, type PackageService } from '../package-service.ts';
import { USER_ALL } from '../users.ts';
import type { CommandIo } from './command.ts';
import { exception, JavaException, numberArg, scanOptions, UsageError, userOption } from './shell-command.ts';

// pm install, install-create/-write/-commit/-abandon with PackageManagerShellCommand's output.

const CREATE_OPTIONS = {
  flags: [
    '-r',
    '-t',
    '-d',
    '-g',
    '-f',
    '-l',
    '-R',
    '--dont-kill',
    '--force-sdk',
    '--full',
    '--instant',
    '--bypass-low-target-sdk-block',
    '--restrict-permissions',
    '--force-queryable',
    '--enable-rollback',
    '--skip-verification',
    '--staged',
    '--wait',
  ],
  withValue: [
    '--user',
    '-i',
    '-S',
    '-p',
    '--install-location',
    '--originating-uri',
    '--referrer',
    '--abi',
    '--pkg',
    '--install-reason',
    '--force-uuid',
    '--staged-ready-timeout',
  ],
};

async function createSession(service: PackageService, args: string[]) {
  const { options, rest } = scanOptions(args, CREATE_OPTIONS);
  if (options.has('-S')) numberArg(options.get('-S') as string, 'size');
  const text = (name: string) => {
    const v = options.get(name);
    return typeof v === 'string' ? v : null;
  };
  const id = await service.createSession({
    allowDowngrade: options.has('-d'),
    grantAll: options.has('-g'),
    inheritFrom: text('-p'),
    // root and shell may name any installer (createSessionInternal), installed or not
    installer: text('-i'),
    // makeInstallParams: USER_ALL unless --user; doCreateSession adds INSTALL_ALL_USERS for it
    user: userOption(options, USER_ALL, true),
  });
  return { id, rest, size: options.has('-S') ? Number(options.get('-S')) : null };
}

/** writes one APK from a phone path, or from stdin for "-" or no path */
async function writeApk(
  service: PackageService,
  io: CommandIo,
  id: number,
  name: string,
  file: string | undefined,
  size: number | null,
) {
  if (file === undefined || file === '-') return service.write(id, name, io.stdin, size);
  const host = await service.phone.resolve(file.startsWith('/') ? file : `/${file}`);
  const st = await fsp.stat(host).catch(() => null);
  if (!st?.isFile())
    throw new UsageError(`Error: Can't open file: ${file}\nConsider using a file under /data/local/tmp/`);
  const source = createReadStream(host);
  try {
    return await service.write(id, name, source, size ?? st.size);
  } finally {
    source.destroy();
  }
}

async function commit(service: PackageService, io: CommandIo, id: number): Promise<number> {
  try {
    await service.commit(id);
  } catch (err) {
    if (!(err instanceof InstallFailure)) throw err;
    io.out(`Failure [${err.message}]\n`);
    return 1;
  }
  io.out('Success\n');
  return 0;
}

export async function pmInstall(service: PackageService, io: CommandIo, command: string, args: string[]) {
  try {
    switch (command) {
      case 'install-create': {
        const { id } = await createSession(service, args);
        io.out(`Success: created install session [${id}]\n`);
        return 0;
      }
      case 'install-write': {
        const { options, rest } = scanOptions(args, { flags: [], withValue: ['-S'] });
        const size = options.has('-S') ? numberArg(options.get('-S') as string, 'size') : null;
        const [id, name, file] = rest;
        if (name === undefined) throw new UsageError('Error: must specify a split name');
        const written = await writeApk(service, io, numberArg(id, 'session id'), name, file, size);
        io.out(`Success: streamed ${written} bytes\n`);
        return 0;
      }
      case 'install-commit':
        return await commit(service, io, numberArg(args[0], 'session id'));
      case 'install-abandon':
      case 'install-destroy':
        await service.abandon(numberArg(args[0], 'session id'));
        io.out('Success\n');
        return 0;
      default: {
        const { id, rest, size } = await createSession(service, args);
        const files = rest.length > 0 ? rest : ['-'];
        try {
          for (const [i, file] of files.entries()) {
            await writeApk(service, io, id, `${i}.apk`, file, file === '-' ? size : null);
          }
        } catch (err) {
          await service.abandon(id);
          throw err;
        }
        return await commit(service, io, id);
      }
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`${err.message}\n`);
      return 1;
    }
    if (err instanceof JavaException) return exception(io, command, err.message);
    return exception(io, command, err instanceof Error ? err.message : String(err));
  }
}
