import { posix } from 'node:path';
import { appFolders, BACKUP_USER, DATA_PARTS, type DataPart, partFolder } from '../../android/layout.ts';
import { ERRORS } from '../../errors.ts';
import { type ArchivePart, MANIFEST_NAME, type Manifest, SUMS_NAME } from './manifest.ts';
import type { TarHeader } from './tar-header.ts';

// Archive entries are untrusted: an archive can carry valid digests and still try to write
// outside the app's folders. Every entry is checked here, before anything reaches a device.

export interface AppEntry {
  pkg: string;
  part: ArchivePart;
  /** path inside the part's folder; '' for the folder itself */
  rel: string;
  header: TarHeader;
}

interface Link {
  path: string;
  pkg: string;
  part: string;
  rel: string;
  target: string;
}

/** A folder of the link table: the path components that lead to links, one node each. */
interface Node {
  parent: Node | null;
  children: Map<string, Node>;
  link?: Link;
}

/** Where a resolution is: a node, how many folders below it (where no link can be), and how many links it followed. */
interface Place {
  node: Node;
  below: number;
  follows: number;
}

// Linux gives up (ELOOP) after this many links in one lookup (MAXSYMLINKS, include/linux/namei.h)
const MAX_LINK_DEPTH = 40;

// the other spellings appFolders lists for the same folders (src/android/layout.ts)
const ALIASES: Record<string, string> = {
  '/data/data': `/data/user/${BACKUP_USER}`,
  '/sdcard': `/data/media/${BACKUP_USER}`,
  '/storage/emulated/0': `/data/media/${BACKUP_USER}`,
};

export class EntryGuard {
  private readonly seen = new Set<string>();
  /** every symlink, by `<pkg>/<part>/<rel>`; their chains are checked once the last is known */
  private readonly links = new Map<string, Link>();
  private readonly files = new Set<string>();
  private readonly apps: Map<string, Manifest['apps'][number]>;
  /** each package's app folders, as path components, with the part that holds each */
  private readonly folders = new Map<string, { folder: string[]; part: DataPart }[]>();

  constructor(manifest: Manifest) {
    this.apps = new Map(manifest.apps.map((a) => [a.package, a]));
    for (const pkg of this.apps.keys()) this.folders.set(pkg, foldersOf(pkg));
  }

  /** Checks one app entry (not the manifest or SHA256SUMS) and returns where it belongs. */
  check(h: TarHeader): AppEntry {
    const path = h.type === 'directory' ? h.path.replace(/\/$/, '') : h.path;
    const fail = (why: string) => ERRORS.unsafeArchiveEntry(h.path, why);
    if (path.includes('\0')) throw fail('NUL in the name');
    const segs = path.split('/');
    if (path.startsWith('/')) throw fail('absolute path');
    if (segs.some((s) => s === '..' || s === '.' || s === '')) throw fail('"..", "." or empty path segment');
    const [top, pkg, part, ...rest] = segs;
    if (top !== 'apps' || !pkg || !part)
      throw fail(`not under apps/<package>/<part>/ (nor ${MANIFEST_NAME}/${SUMS_NAME})`);
    const app = this.apps.get(pkg);
    if (!app) throw fail(`package ${pkg} is not in the manifest`);
    if (!(app.parts as string[]).includes(part) && part !== 'apk') throw fail(`part ${part} is not in the manifest`);
    const rel = rest.join('/');
    const key = `${pkg}/${part}/${rel}`;
    if (this.seen.has(key)) throw fail('duplicate entry');
    this.seen.add(key);
    // FIFOs are what apps make for IPC and toybox archives them (type 6); extracting one needs no
    // privilege. Device nodes are refused: an app has none, and they would reach hardware.
    if (!['file', 'directory', 'symlink', 'hardlink', 'fifo'].includes(h.type)) {
      throw fail(`${h.type} entries are not allowed`);
    }
    if (h.mode & 0o4000) throw fail('setuid bit');
    if (h.type !== 'file' && h.size !== 0) throw fail('non-file entry with data');
    // a part's folder that is a link would put the part somewhere else, resolved from outside the app
    if (rel === '' && part !== 'apk' && h.type !== 'directory') throw fail("the part's folder must be a directory");
    for (let i = 0; i < rest.length; i++) {
      if (this.links.has(`${pkg}/${part}/${rest.slice(0, i).join('/')}`))
        throw fail('would be written through a symlink');
    }
    if (part === 'apk') this.checkApk(h, app.apks, rel, fail);
    if (h.type === 'symlink') {
      this.checkSymlink(h.linkpath, pkg, rel, fail);
      this.links.set(key, { path: h.path, pkg, part, rel, target: h.linkpath });
    }
    if (h.type === 'hardlink') {
      const target = h.linkpath.split('/').slice(3).join('/');
      if (!h.linkpath.startsWith(`apps/${pkg}/${part}/`) || !this.files.has(`${pkg}/${part}/${target}`)) {
        throw fail('hard link to something that is not an earlier file of the same folder');
      }
    }
    if (h.type === 'file') this.files.add(key);
    return { pkg, part: part as ArchivePart, rel, header: h };
  }

  /** What the manifest promises but the archive did not hold: each APK and each part's folder. */
  missing(): string[] {
    return [...this.apps.values()].flatMap((app) => [
      ...app.apks
        .filter((a) => !this.seen.has(`${app.package}/apk/${a.name}`))
        .map((a) => `${app.package}/apk/${a.name}`),
      ...app.parts.filter((p) => !this.seen.has(`${app.package}/${p}/`)).map((p) => `${app.package}/${p}`),
    ]);
  }

  /**
   * Each link stays inside its folder on paper; through other links it can still leave: with
   * `x -> /data/user_de/0/<pkg>`, `z -> /data/user/0/<pkg>/x/..` names /data/user_de/0. So every
   * link is resolved as the phone will, against all links of its package (any part, absolute
   * targets mapped to their part), and refused if a step leaves the app's folders or climbs
   * (`..`) out of a link. Also refuses an entry that a later link would put under a link. Run
   * after the last entry, as links may come in any order.
   */
  checkLinkChains(): void {
    const roots = new Map<string, Node>();
    const nodeAt = (pkg: string, part: string, comps: string[]): Node => {
      const root = roots.get(`${pkg}/${part}`) ?? { parent: null, children: new Map() };
      roots.set(`${pkg}/${part}`, root);
      let node: Node = root;
      for (const c of comps) {
        const next: Node = node.children.get(c) ?? { parent: node, children: new Map() };
        node.children.set(c, next);
        node = next;
      }
      return node;
    };
    for (const l of this.links.values()) nodeAt(l.pkg, l.part, l.rel.split('/')).link = l;
    for (const key of this.seen) {
      const [pkg, part, ...rest] = key.split('/');
      let node = roots.get(`${pkg}/${part}`);
      for (let i = 0; node && i < rest.length - 1; i++) {
        node = node.children.get(rest[i] as string);
        if (node?.link) throw ERRORS.unsafeArchiveEntry(`apps/${key}`, 'would be written through a symlink');
      }
    }

    // where each link leads; null while it is being resolved. Resolving a link does not depend
    // on the path that reached it, so each is resolved once, which keeps long chains linear.
    const resolved = new Map<Link, Place | null>();
    const resolve = (l: Link, depth: number): Place => {
      const fail = (why: string) => ERRORS.unsafeArchiveEntry(l.path, `symlink to ${l.target} ${why}`);
      const known = resolved.get(l);
      if (known) return known;
      if (known === null) throw fail('is part of a loop of symlinks');
      // deeper than this means more links followed than the phone will: refused below anyway
      if (depth > MAX_LINK_DEPTH) throw fail('goes through too many symlinks');
      resolved.set(l, null);
      const absolute = l.target.startsWith('/');
      const start = absolute ? this.rootOf(l.pkg, l.target) : { part: l.part, rest: components(l.target) };
      // checkSymlink refused absolute targets outside the app's folders already
      if (!start) throw fail("points outside the app's folders");
      let node = nodeAt(l.pkg, start.part, absolute ? [] : l.rel.split('/').slice(0, -1));
      let below = 0;
      let follows = 0;
      let via: Link | undefined;
      let afterLink = false;
      for (const c of start.rest) {
        if (c === '..') {
          if (afterLink) throw fail(`goes through another symlink (${via?.path}) and climbs out of it with ".."`);
          if (below > 0) below--;
          else if (node.parent) node = node.parent;
          else throw fail(`leaves the app's folders${via ? ` through another symlink (${via.path})` : ''}`);
          continue;
        }
        afterLink = false;
        const next = below > 0 ? undefined : node.children.get(c);
        if (!next) below++;
        else if (!next.link) node = next;
        else {
          const to = resolve(next.link, depth + 1);
          ({ node, below } = to);
          follows += 1 + to.follows;
          if (follows > MAX_LINK_DEPTH) throw fail('goes through too many symlinks');
          via = next.link;
          afterLink = true;
        }
      }
      const place = { node, below, follows };
      resolved.set(l, place);
      return place;
    };
    for (const l of this.links.values()) resolve(l, 0);
  }

  private checkApk(h: TarHeader, apks: { name: string }[], rel: string, fail: (w: string) => Error) {
    if (h.type !== 'file' || !apks.some((a) => a.name === rel)) throw fail('APK entry not listed in the manifest');
  }

  private checkSymlink(target: string, pkg: string, rel: string, fail: (w: string) => Error) {
    if (!target || target.includes('\0')) throw fail('empty symlink target');
    if (target.startsWith('/')) {
      const root = this.rootOf(pkg, target);
      if (!root) throw fail(`symlink to ${target} points outside the app's folders`);
      if (climbsOut(root.rest)) throw fail(`symlink to ${target} escapes its folder`);
      return;
    }
    if (climbsOut([...components(posix.dirname(rel || '.')), ...components(target)]))
      throw fail(`symlink to ${target} escapes its folder`);
  }

  /** The part an absolute target names and the components below its folder, or null outside them. */
  private rootOf(pkg: string, target: string): { part: DataPart; rest: string[] } | null {
    const comps = components(target);
    for (const { folder, part } of this.folders.get(pkg) ?? []) {
      if (folder.every((c, i) => comps[i] === c)) return { part, rest: comps.slice(folder.length) };
    }
    return null;
  }
}

/** A path's components, without the empty and `.` ones, which name the same place. */
function components(path: string): string[] {
  return path.split('/').filter((c) => c !== '' && c !== '.');
}

/** Whether `..` climbs above the first component, read lexically. */
function climbsOut(comps: string[]): boolean {
  let depth = 0;
  for (const c of comps) {
    depth += c === '..' ? -1 : 1;
    if (depth < 0) return true;
  }
  return false;
}

function foldersOf(pkg: string): { folder: string[]; part: DataPart }[] {
  return appFolders(pkg).map((spelling) => {
    const alias = Object.keys(ALIASES).find((a) => spelling.startsWith(`${a}/`));
    const folder = alias ? `${ALIASES[alias]}${spelling.slice(alias.length)}` : spelling;
    const part = DATA_PARTS.find((p) => partFolder(pkg, p) === folder);
    if (!part) throw new Error(`no archive part holds ${spelling}`);
    return { folder: components(spelling), part };
  });
}
