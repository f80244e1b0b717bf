import { promises as fsp } from 'node:fs';
import path from 'node:path';

// The system server works on the host folder that is the phone's "/". The phone's root shell can
// put links anywhere in it, and a link's text means a phone path, so every path is resolved
// component by component as if the folder were "/" (`..` stops at the top, like chroot).

const MAX_LINKS = 40;

export class PhoneRoot {
  constructor(readonly root: string) {}

  /** host path for a phone path; links are followed in every component and, if `followLast`, in the last */
  async resolve(phonePath: string, followLast = true): Promise<string> {
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
      const host = path.join(this.root, ...done, name);
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
    return path.join(this.root, ...done);
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
