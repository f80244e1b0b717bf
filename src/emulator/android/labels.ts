import { type BigIntStats, promises as fsp } from 'node:fs';
import path from 'node:path';
import { type FileContexts, type FileKind, fileKind } from './file-contexts.ts';
import { inodeKey, LabelFile } from './label-file.ts';
import type { PhoneRoot } from './root-path.ts';

// The phone's SELinux contexts. On a phone they are xattrs (security.selinux) that move with the
// inode; the emulator keeps them in /data/system/emulator-selinux-labels.json, keyed by inode
// identity (dev, ino, birth time: a reused inode number has a new birth time), so a rename keeps
// its label, a copy does not, and they survive restarts.
//
// API (phone paths are absolute; links in the middle of a path are always followed):
//   labels.get(p, { followLast })              → context; lgetfilecon, or getfilecon with followLast
//   labels.set(p, context, { followLast })      lsetfilecon / setfilecon
//   labels.setRecursive(p, context, { followLast })   chcon -R: every entry, links never descended
//   labels.getRecursive(p)                      → [phone path, context][] of a tree (lgetfilecon each)
//   appDataContext(uid, userId, targetSdk)      (seapp.ts) the context installd gives app data
// The package manager labels what installd labels: after creating an app's CE/DE folders,
// `await phone.labels.setRecursive(ceDir, appDataContext(uid, 0, targetSdk))`, same for DE.
//
// A file never labelled explicitly was made by the root shell (tar, mkdir, mv from elsewhere …).
// Real SELinux gives a new file its parent folder's type and the creating process's level, s0 for
// a root shell, e.g. u:object_r:app_data_file:s0 inside an app folder. The emulator cannot see
// creation, so it computes that on read: the nearest labelled ancestor's type at s0. /system is a
// read-only image, labelled at build time: its labels are always file_contexts'.

export interface LabelOptions {
  /** label what a final link points to instead of the link (default false, like lsetfilecon) */
  followLast?: boolean;
}

const IMAGE = '/system';
const inImage = (p: string) => p === IMAGE || p.startsWith(`${IMAGE}/`);
/** the image is mounted read-only: setxattr there fails with EROFS */
function refuseImage(canonical: string): void {
  if (inImage(canonical)) throw Object.assign(new Error(`${canonical}: Read-only file system`), { code: 'EROFS' });
}
export const typeOf = (context: string) => context.split(':')[2] ?? '';
const atS0 = (context: string) => `u:object_r:${typeOf(context)}:s0`;

export class LabelStore {
  /** labels of inodes that exist only for a while: the encrypted-name view of locked CE storage (ce-lock.ts) */
  overlay = new Map<string, string>();

  private constructor(
    private readonly phone: PhoneRoot,
    readonly contexts: FileContexts,
    private readonly file: LabelFile,
  ) {}

  static async open(phone: PhoneRoot, contexts: FileContexts): Promise<LabelStore> {
    return new LabelStore(phone, contexts, await LabelFile.load(phone));
  }

  async get(phonePath: string, opts: LabelOptions = {}): Promise<string> {
    const canonical = await this.phone.canonical(phonePath, opts.followLast ?? false);
    return this.labelOf(canonical);
  }

  async set(phonePath: string, context: string, opts: LabelOptions = {}): Promise<void> {
    await this.setOne(phonePath, context, opts);
    await this.file.save();
  }

  /** lsetfilecon on a tree, links never followed: each entry by the lstat the walk made of it */
  async setRecursive(phonePath: string, context: string): Promise<void> {
    for (const [entry, st] of await this.walk(phonePath)) this.setStat(entry, st, context);
    await this.file.save();
  }

  async getRecursive(phonePath: string): Promise<[string, string][]> {
    const out: [string, string][] = [];
    for (const [entry] of await this.walk(phonePath, true)) out.push([entry, await this.get(entry)]);
    return out;
  }

  /** lsetfilecon / setfilecon without writing the file yet (save() does) */
  async setOne(phonePath: string, context: string, opts: LabelOptions = {}): Promise<void> {
    const canonical = await this.phone.canonical(phonePath, opts.followLast ?? false);
    refuseImage(canonical);
    this.setInode(await this.lstat(canonical), context);
  }

  /** lsetfilecon on an inode already stat'ed at a canonical phone path (walks) */
  setStat(canonical: string, st: BigIntStats, context: string): void {
    refuseImage(canonical);
    this.setInode(st, context);
  }

  /** labels a freshly made layout folder, leaving alone one that already has a label of its own */
  async setDefault(phonePath: string, context: string): Promise<void> {
    const key = inodeKey(await this.lstat(await this.phone.canonical(phonePath, false)));
    if (this.file.get(key) === undefined) this.file.set(key, context);
  }

  /**
   * the context of an inode already stat'ed at a canonical phone path (no link resolution);
   * `parent` is the parent folder's context when the caller knows it (listings, walks); `view`
   * walks up through the shell's view of locked CE storage (PhoneRoot.resolveView)
   */
  contextOf(canonical: string, st: BigIntStats, parent?: string, view = false): string | Promise<string> {
    if (inImage(canonical)) return this.contexts.lookup(canonical, fileKind(st)) ?? 'u:object_r:system_file:s0';
    const own = this.overlay.get(inodeKey(st)) ?? this.file.get(inodeKey(st));
    if (own !== undefined) return own;
    if (canonical === '/') return this.contexts.lookup('/', 'dir') as string;
    if (parent !== undefined) return atS0(parent);
    return this.labelOf(path.posix.dirname(canonical), view).then(atS0);
  }

  /** lsetfilecon on an inode already stat'ed, for walks (restorecon) */
  setInode(st: BigIntStats, context: string): void {
    this.file.set(inodeKey(st), context);
  }

  /** restorecon's security.sehash of a folder: the digest of the rules it was last labelled with */
  sehash(st: BigIntStats): string | undefined {
    return this.file.hash(inodeKey(st));
  }

  setSehash(st: BigIntStats, digest: string): void {
    this.file.setHash(inodeKey(st), digest);
  }

  /** writes what setInode / setSehash changed */
  save(): Promise<void> {
    return this.file.save();
  }

  private async labelOf(canonical: string, view = false): Promise<string> {
    return this.contextOf(canonical, await this.lstat(canonical, view), undefined, view);
  }

  private async lstat(canonical: string, view = false): Promise<BigIntStats> {
    return fsp.lstat(this.phone.hostOf(canonical, view), { bigint: true });
  }

  /** a tree's entries (canonical phone paths, depth first, parents first), links never descended */
  private async walk(phonePath: string, sorted = false): Promise<[string, BigIntStats][]> {
    const out: [string, BigIntStats][] = [];
    const visit = async (p: string) => {
      const st = await this.lstat(p);
      out.push([p, st]);
      if (!st.isDirectory()) return;
      const names = await fsp.readdir(this.phone.hostOf(p));
      for (const n of sorted ? names.sort() : names) await visit(path.posix.join(p, n));
    };
    await visit(await this.phone.canonical(phonePath, false));
    return out;
  }
}

export type { FileKind };
