import { randomInt } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import type { Readable } from 'node:stream';
import { AID } from './accounts.ts';
import type { PhoneRoot } from './root-path.ts';
import { copyToFile } from './stream-copy.ts';

// An install session (PackageInstallerSession): APKs are streamed into a staging folder
// /data/app/vmdl<id>.tmp under any valid name, and only read and checked at commit.

export interface SessionParams {
  /** -d: allow a lower versionCode (the build is debuggable) */
  allowDowngrade: boolean;
  /** -g: grant every requested runtime permission */
  grantAll: boolean;
  /** -p <pkg>: add or replace splits of an installed app, keeping its other APKs */
  inheritFrom: string | null;
  /** -i <installer> */
  installer: string | null;
  /** --user: one user, or USER_ALL (-1), PackageManagerShellCommand's default for installs */
  user: number;
}

export class InstallSession {
  private readonly names = new Set<string>();

  private constructor(
    readonly id: number,
    readonly params: SessionParams,
    readonly stageDir: string,
  ) {}

  static async create(phone: PhoneRoot, params: SessionParams, taken: (id: number) => boolean) {
    let id: number;
    do id = randomInt(1, 2 ** 31 - 1);
    while (taken(id));
    const stageDir = `/data/app/vmdl${id}.tmp`;
    await phone.remove(stageDir);
    await phone.ensureDir(stageDir, AID.system, AID.system, 0o775);
    return new InstallSession(id, params, stageDir);
  }

  /** staged APKs, as phone paths */
  files(): string[] {
    return [...this.names].sort().map((n) => `${this.stageDir}/${n}`);
  }

  /** streams an APK into the session; returns the bytes written */
  async write(phone: PhoneRoot, name: string, source: Readable, size: number | null): Promise<number> {
    if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(name) || name.length > 255) {
      throw new Error(`java.lang.IllegalArgumentException: Invalid name: ${name}`);
    }
    const host = await phone.resolve(`${this.stageDir}/${name}`, false);
    await fsp.rm(host, { force: true });
    this.names.add(name);
    const written = await copyToFile(source, host, size);
    if (size !== null && written !== size) {
      throw new Error(`java.io.IOException: stream ended after ${written} of ${size} bytes`);
    }
    return written;
  }

  async abandon(phone: PhoneRoot): Promise<void> {
    await phone.remove(this.stageDir);
  }
}
