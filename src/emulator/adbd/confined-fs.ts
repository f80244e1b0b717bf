import { constants as C, promises as fsp } from 'node:fs';
import path from 'node:path';

// The sync service runs in the daemon, on the host folder that is the phone's "/". Paths come
// from the host client and links come from the phone, so neither may reach the host's own files.
// We resolve every component ourselves, reading links as if the folder were "/" (`..` at the top
// stays at the top, like chroot), then open the parent folder with O_NOFOLLOW, check through
// /proc/self/fd where it really is, and act on `/proc/self/fd/<n>/<name>`: a link swapped in by
// the phone after we resolved cannot redirect us outside. Where the phone has a mount inside its
// folder (Android 11+ /data/data on /data/user/0), `hostOf` maps the resolved phone path to the
// folder that holds it, and refuses paths the phone cannot name (locked CE storage), as the
// system server's PhoneRoot does.

const MAX_LINKS = 40;

export type HostMapper = (canonicalPhonePath: string) => string;

export class ConfinedFs {
  private constructor(
    private readonly root: string,
    private readonly hostOf: HostMapper | undefined,
  ) {}

  static async open(root: string, hostOf?: HostMapper): Promise<ConfinedFs> {
    return new ConfinedFs(await fsp.realpath(root), hostOf);
  }

  /** host path of a phone path; follows links in every component, and in the last one when `followLast` */
  async resolve(phonePath: string, followLast: boolean, mkdirs = false): Promise<string> {
    const remaining = phonePath.split('/').filter((c) => c !== '' && c !== '.');
    const done: string[] = [];
    let links = 0;
    while (remaining.length > 0) {
      const name = remaining.shift() as string;
      if (name === '..') {
        done.pop();
        continue;
      }
      const candidate = this.host([...done, name]);
      const isLast = remaining.length === 0;
      const st = await fsp.lstat(candidate).catch((err: NodeJS.ErrnoException) => {
        // A missing last component is for the caller to judge (e.g. a file about to be created).
        if (err.code !== 'ENOENT' || !(isLast || mkdirs)) throw err;
        return null;
      });
      if (st === null) {
        if (!isLast) await this.mkdir(this.host(done), name);
      } else if (st.isSymbolicLink() && (!isLast || followLast)) {
        if (++links > MAX_LINKS) throw errnoError('ELOOP', phonePath);
        const target = await fsp.readlink(candidate);
        if (target.startsWith('/')) done.length = 0;
        remaining.unshift(...target.split('/').filter((c) => c !== '' && c !== '.'));
        continue;
      }
      done.push(name);
    }
    return this.host(done);
  }

  /**
   * Runs `fn` with a path naming `hostPath` through its verified parent folder (`/proc/self/fd/<n>/<name>`).
   * `hostPath` must come from resolve().
   */
  async withEntry<T>(hostPath: string, fn: (entry: string) => Promise<T>): Promise<T> {
    const atRoot = hostPath === this.root;
    const dir = await this.openVerified(atRoot ? this.root : path.dirname(hostPath), C.O_DIRECTORY);
    try {
      return await fn(`/proc/self/fd/${dir.fd}/${atRoot ? '.' : path.basename(hostPath)}`);
    } finally {
      await dir.close();
    }
  }

  /** opens an entry (a path from withEntry) without following a final link, and checks where it is */
  async openEntry(entry: string, flags: number, mode?: number): Promise<fsp.FileHandle> {
    return this.openVerified(entry, flags, mode);
  }

  private async openVerified(hostPath: string, flags: number, mode?: number): Promise<fsp.FileHandle> {
    const handle = await fsp.open(hostPath, flags | C.O_NOFOLLOW, mode);
    try {
      const real = await fsp.readlink(`/proc/self/fd/${handle.fd}`);
      if (real !== this.root && !real.startsWith(`${this.root}/`)) throw errnoError('EACCES', hostPath);
      return handle;
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  private async mkdir(parentHost: string, name: string): Promise<void> {
    await this.withEntry(path.join(parentHost, name), async (entry) => {
      const created = await fsp.mkdir(entry).then(
        () => true,
        (err: NodeJS.ErrnoException) => {
          if (err.code !== 'EEXIST') throw err;
          return false;
        },
      );
      // adbd creates missing parents 0775 regardless of its umask.
      if (created) await fsp.chmod(entry, 0o775);
    });
  }

  private host(components: string[]): string {
    if (this.hostOf) return this.hostOf(`/${components.join('/')}`);
    return components.length === 0 ? this.root : `${this.root}/${components.join('/')}`;
  }
}

export function errnoError(code: string, subject: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`${code}: ${subject}`);
  err.code = code;
  return err;
}
