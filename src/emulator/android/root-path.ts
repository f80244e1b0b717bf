import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { LabelStore } from './labels.ts';

// The system server works on the host folder that is the phone's "/". The phone's root shell can
// put links anywhere in it, and a link's text means a phone path, so every path is resolved
// component by component as if the folder were "/" (`..` stops at the top, like chroot).
//
// It also sees the mounts the sandbox makes (sandbox.ts): a bind mount shows one folder of the
// phone folder at a second phone path (Android 11+ /data/data, stored at /data/user/0), and while
// a user's CE storage is locked its folders are replaced by a view of encrypted names
// (ce-lock.ts): writers are refused there, as a plaintext name does not exist before unlock.

const MAX_LINKS = 40;

/** phone path → the phone-folder path that holds it */
export type Binds = [phonePath: string, folderPath: string][];

export interface LockedView {
  /** canonical phone paths whose contents are encrypted, with the host folder that shows them so */
  roots: Map<string, string>;
}

export class PhoneRoot {
  private labelStore: LabelStore | undefined;
  /** set while CE storage is locked (ce-lock.ts) */
  locked: LockedView | undefined;

  constructor(
    readonly root: string,
    readonly binds: Binds = [],
  ) {}

  /** the phone's SELinux labels (labels.ts), for the system server and the package manager */
  get labels(): LabelStore {
    if (!this.labelStore) throw new Error('the label store is not open yet');
    return this.labelStore;
  }

  set labels(store: LabelStore) {
    this.labelStore = store;
  }

  /** host path for a phone path; links are followed in every component and, if `followLast`, in the last */
  async resolve(phonePath: string, followLast = true): Promise<string> {
    return this.hostOf(await this.canonical(phonePath, followLast));
  }

  /**
   * like resolve, but shows what the phone's shell sees: inside locked CE storage the host
   * folder of encrypted names instead of a refusal (for ls -Z, which only reads)
   */
  async resolveView(phonePath: string, followLast = true): Promise<string> {
    return this.hostOf(await this.canonical(phonePath, followLast, true), true);
  }

  /** the phone path with every link resolved (physically, as the kernel does), e.g. for restorecon */
  async canonical(phonePath: string, followLast = true, view = false): Promise<string> {
    if (!phonePath.startsWith('/')) throw new Error(`not an absolute path: ${phonePath}`);
    const remaining = phonePath.split('/').filter((c) => c !== '' && c !== '.');
    const done: string[] = [];
    let links = 0;
    while (remaining.length > 0) {
      const name = remaining.shift() as string;
      if (name === '..') {
        done.pop();
        continue;
      }
      const host = this.hostOf(`/${[...done, name].join('/')}`, view);
      const st = await fsp.lstat(host).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return null;
        throw err;
      });
      if (st?.isSymbolicLink() && (remaining.length > 0 || followLast)) {
        if (++links > MAX_LINKS) throw Object.assign(new Error(`too many links: ${phonePath}`), { code: 'ELOOP' });
        const target = await fsp.readlink(host);
        if (target.startsWith('/')) done.length = 0;
        remaining.unshift(...target.split('/').filter((c) => c !== '' && c !== '.'));
        continue;
      }
      done.push(name);
    }
    return `/${done.join('/')}`;
  }

  /** the host path of a canonical phone path, through the binds and, when locked, the CE view */
  hostOf(canonicalPath: string, view = false): string {
    for (const [root, host] of this.locked?.roots ?? []) {
      if (view && canonicalPath === root) return host;
      if (!canonicalPath.startsWith(`${root}/`)) continue;
      if (view) return path.join(host, canonicalPath.slice(root.length));
      throw Object.assign(new Error(`${canonicalPath}: CE storage is locked (no such file before the user unlocks)`), {
        code: 'ENOENT',
      });
    }
    for (const [phonePath, folderPath] of this.binds) {
      if (canonicalPath === phonePath || canonicalPath.startsWith(`${phonePath}/`)) {
        return path.join(this.root, folderPath, canonicalPath.slice(phonePath.length));
      }
    }
    return path.join(this.root, canonicalPath);
  }

  /** a real folder (never a link) owned and moded as given, created if missing */
  async ensureDir(phonePath: string, uid: number, gid: number, mode: number): Promise<string> {
    const host = await this.resolve(phonePath, false);
    const st = await fsp.lstat(host).catch(() => null);
    if (st && !st.isDirectory()) await fsp.rm(host, { recursive: true, force: true });
    if (!st?.isDirectory()) await fsp.mkdir(host);
    await fsp.lchown(host, uid, gid);
    // chmod after chown: chown clears the setgid bit that cache folders carry
    await fsp.chmod(host, mode);
    return host;
  }

  /** removes a file or a tree; links inside are removed, never followed */
  async remove(phonePath: string): Promise<void> {
    await fsp.rm(await this.resolve(phonePath, false), { recursive: true, force: true });
  }
}
