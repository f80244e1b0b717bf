import { createHmac, randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inodeKey } from './label-file.ts';
import type { LabelStore } from './labels.ts';
import type { AndroidProfile } from './profile.ts';
import type { PhoneRoot } from './root-path.ts';

// User 0's credential-encrypted (CE) storage before the first unlock. With file-based encryption
// the kernel shows a locked folder's entries under encrypted "no-key" names (base64url of the
// ciphertext), still with their owners, modes and SELinux labels, and refuses to open the files
// (ENOKEY); a new file cannot be made there. The emulator shows the same through the sandbox: a
// read-only copy of each CE folder's tree with encrypted-looking names bound over the folder, and
// on every regular file a read-only bind of a file that root cannot read (/proc/sys/vm/drop_caches,
// mode 0200: procfs checks the owner bits even for root), so `cat` and `tar -c` fail on each file
// (EACCES where a phone says ENOKEY). The system server resolves plaintext names there as missing.
// CE folders of user 0 (vold FsCrypt.cpp prepare_user_storage, lineage-21.0:989-1030, and
// prepare_special_dirs): /data/data (= /data/user/0) and /data/media/0.

const UNREADABLE = '/proc/sys/vm/drop_caches';

interface View {
  /** canonical phone paths shown through this copy */
  mountPoints: string[];
  host: string;
  /** regular files, relative to `host` */
  sealed: string[];
}

export class CeLock {
  private views: View[] = [];
  private work: string | undefined;

  constructor(
    private readonly phone: PhoneRoot,
    private readonly labels: LabelStore,
    private readonly profile: AndroidProfile,
  ) {}

  get locked(): boolean {
    return this.work !== undefined;
  }

  async lock(): Promise<void> {
    if (this.work) return;
    await fsp.access(UNREADABLE).catch(() => {
      throw new Error(`locking CE storage needs ${UNREADABLE} on the host`);
    });
    const work = await fsp.mkdtemp(path.join(os.tmpdir(), 'cloudphone-ce-'));
    const key = randomBytes(32);
    const overlay = new Map<string, string>();
    const groups =
      this.profile.userZero === 'bind'
        ? [['/data/data', '/data/user/0'], ['/data/media/0']]
        : [['/data/data'], ['/data/media/0']];
    for (const [i, mountPoints] of groups.entries()) {
      const source = mountPoints[0] as string;
      const host = path.join(work, String(i));
      const view: View = { mountPoints, host, sealed: [] };
      await this.copy(source, host, '', key, view, overlay, await this.labels.get(source));
      this.views.push(view);
    }
    this.labels.overlay = overlay;
    this.phone.locked = { roots: new Map(this.views.flatMap((v) => v.mountPoints.map((m) => [m, v.host]))) };
    this.work = work;
  }

  async unlock(): Promise<void> {
    if (!this.work) return;
    this.phone.locked = undefined;
    this.labels.overlay = new Map();
    await fsp.rm(this.work, { recursive: true, force: true });
    this.views = [];
    this.work = undefined;
  }

  /** bwrap options that show the locked folders, to follow the phone's other mounts */
  mounts(): string[] {
    const args: string[] = [];
    for (const { mountPoints, host, sealed } of this.views) {
      for (const at of mountPoints) {
        args.push('--ro-bind', host, at);
        for (const file of sealed) args.push('--ro-bind', UNREADABLE, path.posix.join(at, file));
      }
    }
    return args;
  }

  /** the encrypted-name copy of one folder's contents; labels of the originals go to `overlay` */
  private async copy(
    phoneDir: string,
    host: string,
    rel: string,
    key: Buffer,
    view: View,
    overlay: Map<string, string>,
    context: string,
  ) {
    const real = this.phone.hostOf(phoneDir);
    const st = await fsp.lstat(real, { bigint: true });
    await fsp.mkdir(host);
    for (const entry of await fsp.readdir(real)) {
      const name = noKeyName(key, `${rel}/${entry}`, Buffer.byteLength(entry));
      const from = path.join(real, entry);
      const to = path.join(host, name);
      const est = await fsp.lstat(from, { bigint: true });
      const entryContext = await this.labels.contextOf(`${phoneDir}/${entry}`, est, context);
      if (est.isDirectory()) {
        await this.copy(`${phoneDir}/${entry}`, to, `${rel}/${name}`, key, view, overlay, entryContext);
      } else if (est.isSymbolicLink()) {
        const target = await fsp.readlink(from);
        await fsp.symlink(noKeyName(key, `${rel}/${entry}->`, Buffer.byteLength(target)), to);
        await fsp.lchown(to, Number(est.uid), Number(est.gid));
      } else if (est.isFile()) {
        await fsp.writeFile(to, '', { mode: 0o200 });
        await fsp.chmod(to, 0o200);
        view.sealed.push(`${rel}/${name}`.slice(1));
      } else continue;
      overlay.set(inodeKey(await fsp.lstat(to, { bigint: true })), entryContext);
    }
    await fsp.chown(host, Number(st.uid), Number(st.gid));
    await fsp.chmod(host, Number(st.mode) & 0o7777);
    await fsp.utimes(host, st.atime, st.mtime);
    overlay.set(inodeKey(await fsp.lstat(host, { bigint: true })), context);
  }
}

/**
 * an fscrypt no-key name's shape: base64url of an 8-byte hash and the name's ciphertext, padded to
 * 16 bytes (fs/crypto/fname.c struct fscrypt_nokey_name); here an HMAC of the path stands in
 */
function noKeyName(key: Buffer, relPath: string, length: number): string {
  const size = 8 + Math.max(16, Math.ceil(length / 16) * 16);
  let bytes = Buffer.alloc(0);
  for (let i = 0; bytes.length < size; i++) {
    bytes = Buffer.concat([bytes, createHmac('sha256', key).update(`${i}:${relPath}`).digest()]);
  }
  return bytes.subarray(0, size).toString('base64url');
}
