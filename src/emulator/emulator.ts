import { readFile } from 'node:fs/promises';
import { startAdbd } from './adbd/adbd.ts';
import { parseAdbPublicKey } from './adbd/auth.ts';
import type { DisplaySpec } from './android/display.ts';
import { type Phone, startPhone } from './android/phone.ts';
import type { AndroidRelease } from './android/profile.ts';

// The emulated cloud phone: an Android-like folder with its sandboxed userland, reachable over ADB.

export interface EmulatorOptions {
  root: string;
  /** 0 picks a free port */
  port: number;
  host?: string;
  seedApps?: boolean;
  /** SELinux labels (default true); false: ls -Z prints `?`, chcon and restorecon change nothing */
  selinux?: boolean;
  /** Android release of a new phone folder (default 14, DEFAULT_RELEASE); an existing folder keeps its own and must match */
  android?: AndroidRelease;
  /** start with user 0's CE storage locked, as after a reboot before the first unlock (phone.unlockCe() unlocks) */
  lockedCe?: boolean;
  /** adbkey.pub of the one host allowed in; without it the phone does not ask for AUTH */
  authKeyFile?: string;
  /** the display's physical size and density (default 720x1280 at 320 dpi) */
  display?: DisplaySpec;
}

export interface Emulator {
  port: number;
  address: string;
  phone: Phone;
  close(): Promise<void>;
}

export async function startEmulator(opts: EmulatorOptions): Promise<Emulator> {
  // Read the key first: a bad key file should fail before a phone is set up.
  const authKey = opts.authKeyFile ? parseAdbPublicKey(await readFile(opts.authKeyFile, 'utf8')) : undefined;
  const { seedApps, selinux, android, lockedCe, display } = opts;
  const phone = await startPhone(opts.root, { seedApps, selinux, android, lockedCe, display });
  let adbd: Awaited<ReturnType<typeof startAdbd>>;
  try {
    adbd = await startAdbd({ phone, port: opts.port, host: opts.host, authKey });
  } catch (err) {
    await phone.close();
    throw err;
  }
  let closing: Promise<void> | undefined;
  return {
    port: adbd.port,
    address: adbd.address,
    phone,
    close: () => {
      closing ??= adbd.close().finally(() => phone.close());
      return closing;
    },
  };
}
