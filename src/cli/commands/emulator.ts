import { join } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { DEFAULT_DISPLAY_SPEC } from '../../emulator/android/display.ts';
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
  display?: { width: number; height: number };
  dpi?: number;
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
    .option('--display <WxH>', "the display's physical size in pixels (default 720x1280)", parseSize)
    .option('--dpi <n>', "the display's physical density (default 320)", parseDpi)
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
          display: { ...DEFAULT_DISPLAY_SPEC, ...flags.display, dpi: flags.dpi ?? DEFAULT_DISPLAY_SPEC.dpi },
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

function parseSize(value: string): { width: number; height: number } {
  const m = /^([1-9]\d{1,4})x([1-9]\d{1,4})$/.exec(value);
  if (!m) throw new InvalidArgumentError('expected WIDTHxHEIGHT in pixels, e.g. 1080x1920');
  return { width: Number(m[1]), height: Number(m[2]) };
}

function parseDpi(value: string): number {
  const dpi = Number(value);
  // the window manager refuses densities below 72 (WindowManagerShellCommand.runDisplayDensity)
  if (!/^\d{2,4}$/.test(value) || dpi < 72) throw new InvalidArgumentError('expected a density of 72 dpi or more');
  return dpi;
}
