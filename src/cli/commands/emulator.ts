import { join } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { type AndroidRelease, parseRelease, RELEASES } from '../../emulator/android/profile.ts';
import { type Emulator, startEmulator } from '../../emulator/emulator.ts';
import { configFrom, fail, withCommonOptions } from '../common.ts';

// `cloudphone-backup emulator`: runs an emulated cloud phone until SIGINT/SIGTERM.

interface EmulatorFlags extends Record<string, unknown> {
  root?: string;
  port: number;
  host: string;
  seedApps: boolean;
  selinux: boolean;
  android?: AndroidRelease;
  lockedCe: boolean;
  authKey?: string;
}

export function registerEmulator(program: Command): void {
  withCommonOptions(program.command('emulator'))
    .description('run an emulated cloud phone that the real adb client (and this service) can use')
    .option('--root <dir>', "folder that becomes the phone's / (default <data-dir>/emulator)")
    .requiredOption('--port <n>', 'TCP port of its adbd (0 picks a free one)', parsePort)
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option(
      '--android <release>',
      `Android release of a new phone folder: ${RELEASES.join(', ')} (default 14); an existing folder must be started as the release it was set up with`,
      parseAndroid,
    )
    .option('--seed-apps', 'install sample apps with data', false)
    .option(
      '--locked-ce',
      "user 0's credential-encrypted storage stays locked (encrypted names, unreadable files), as before the first unlock",
      false,
    )
    .option('--no-selinux', 'no SELinux labels: ls -Z prints ?, chcon and restorecon change nothing')
    .option('--auth-key <file>', 'require ADB AUTH with the private half of this adbkey.pub')
    .action(async (flags: EmulatorFlags) => {
      const root = flags.root ?? join(configFrom(flags).dataDir, 'emulator');
      let emulator: Emulator;
      try {
        emulator = await startEmulator({
          root,
          port: flags.port,
          host: flags.host,
          seedApps: flags.seedApps,
          selinux: flags.selinux,
          android: flags.android,
          lockedCe: flags.lockedCe,
          authKeyFile: flags.authKey,
        });
      } catch (err) {
        fail(`cannot start the emulator: ${(err as Error).message}`);
      }
      process.stdout.write(
        `emulated phone listening on ${emulator.address} (root ${emulator.phone.root})\n` +
          `connect with: adb connect ${emulator.address}\n`,
      );
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await emulator.close();
    });
}

function parseAndroid(value: string): AndroidRelease {
  try {
    return parseRelease(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) throw new InvalidArgumentError('expected a TCP port number (0-65535)');
  return port;
}
