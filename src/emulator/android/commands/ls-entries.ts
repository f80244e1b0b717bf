import { type BigIntStats, promises as fsp } from 'node:fs';
import path from 'node:path';
import type { LabelStore } from '../labels.ts';
import type { PhoneRoot } from '../root-path.ts';

// The entries `ls -Z` lists, as toybox's dirtree reads them: a stat (of the link itself unless
// links are followed), the link text, and the SELinux context of the entry itself (lgetfilecon;
// getfilecon with -L). Everything is read through the phone's view (PhoneRoot.resolveView), so
// it matches what the sandboxed shell sees, locked CE storage included.

export interface Entry {
  /** the name as printed: the operand at the top, the directory entry's name below */
  name: string;
  /** absolute phone path, for lookups */
  phonePath: string;
  /** dirtree_path: operand-relative, as headers print it */
  treePath: string;
  st: BigIntStats;
  link: string | undefined;
  context: string;
  /** the context of the folder itself when it is listed, for its entries' inherited labels */
  top: boolean;
}

export class EntryReader {
  constructor(
    private readonly phone: PhoneRoot,
    private readonly labels: LabelStore,
    /** -L: follow every link, for stats and contexts */
    private readonly followAll: boolean,
  ) {}

  /** a command-line operand; `follow` follows a final link for the stat (not for the context, unless -L) */
  async operand(operand: string, phonePath: string, follow: boolean): Promise<Entry> {
    return this.read(operand, phonePath, operand, follow || this.followAll, true);
  }

  /** the entries of a listed folder, "." and ".." included with `dots` (-a) */
  async children(dir: Entry, dots: boolean): Promise<Entry[]> {
    const canonical = await this.phone.canonical(dir.phonePath, true, true);
    const host = this.phone.hostOf(canonical, true);
    const dirContext = await this.labels.contextOf(canonical, await fsp.lstat(host, { bigint: true }), undefined, true);
    const names = await fsp.readdir(host);
    const out: Entry[] = [];
    if (dots) {
      for (const name of ['.', '..']) {
        const p = name === '.' ? canonical : path.posix.dirname(canonical);
        const st = await fsp.lstat(this.phone.hostOf(p, true), { bigint: true });
        const context = await this.labels.contextOf(p, st, undefined, true);
        out.push({ name, phonePath: p, treePath: join(dir.treePath, name), st, link: undefined, context, top: false });
      }
    }
    for (const name of names) {
      const phonePath = path.posix.join(canonical, name);
      const treePath = join(dir.treePath, name);
      if (this.followAll) {
        out.push(await this.read(name, phonePath, treePath, true, false));
        continue;
      }
      const st = await fsp.lstat(path.join(host, name), { bigint: true });
      const link = st.isSymbolicLink() ? await fsp.readlink(path.join(host, name)) : undefined;
      const context = await this.labels.contextOf(phonePath, st, dirContext, true);
      out.push({ name, phonePath, treePath, st, link, context, top: false });
    }
    return out;
  }

  private async read(name: string, phonePath: string, treePath: string, follow: boolean, top: boolean): Promise<Entry> {
    const own = await this.phone.canonical(phonePath, false, true);
    const lst = await fsp.lstat(this.phone.hostOf(own, true), { bigint: true });
    let st = lst;
    if (follow && lst.isSymbolicLink()) {
      // dirtree_add_node: a dangling link is shown as the link itself
      const target = await this.phone.resolveView(phonePath, true);
      st = await fsp.stat(target, { bigint: true }).catch(() => lst);
    }
    const link = st.isSymbolicLink() ? await fsp.readlink(this.phone.hostOf(own, true)) : undefined;
    return { name, phonePath, treePath, st, link, context: await this.context(phonePath, own, lst), top };
  }

  /** lgetfilecon, or with -L getfilecon, which fails on a dangling link: toybox then prints "?" */
  private async context(phonePath: string, own: string, lst: BigIntStats): Promise<string> {
    if (!this.followAll || !lst.isSymbolicLink()) return this.labels.contextOf(own, lst, undefined, true);
    const target = await this.phone.canonical(phonePath, true, true);
    const st = await fsp.lstat(this.phone.hostOf(target, true), { bigint: true }).catch(() => null);
    return st ? this.labels.contextOf(target, st, undefined, true) : '?';
  }
}

/** dirtree_path: components joined with '/', a trailing '/' of each dropped ("/" gives "") */
function join(parent: string, name: string): string {
  return `${parent.endsWith('/') ? parent.slice(0, -1) : parent}/${name}`;
}
