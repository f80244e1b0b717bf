import { ERRORS } from '../../errors.ts';
import { baseName, type PathManifest } from './path-manifest.ts';
import type { TarHeader } from './tar-header.ts';

// The entry rules for a file backup's `paths/<i>/…` entries (the app rules are entry-guard.ts).
// Each entry must stay inside its own path's folder, as the restore will extract it there: a
// relative name with no "..", "." or empty segment, no absolute name, nothing written through a
// symlink of the archive, hard links only to an earlier file of the same folder, no device
// nodes and no setuid bits, and symlinks that lead nowhere outside the folder: an absolute
// target must lie inside the path, a relative one may not climb above the folder, and no ".."
// may follow a component that is a symlink (`a -> ..` then `b -> a/..` would leave it though
// each looks confined alone). A file path is exactly one regular file under its own name.

export interface PathEntry {
  /** index into manifest.paths */
  index: number;
  /** path inside the folder ('' = the folder itself); for a file path, its name */
  rel: string;
  header: TarHeader;
}

interface Tree {
  seen: Set<string>;
  files: Set<string>;
  /** symlink rel → target */
  links: Map<string, string>;
}

export class PathGuard {
  private readonly trees: Tree[];

  constructor(private readonly paths: readonly PathManifest[]) {
    this.trees = paths.map(() => ({ seen: new Set(), files: new Set(), links: new Map() }));
  }

  check(h: TarHeader): PathEntry {
    const name = h.type === 'directory' ? h.path.replace(/\/$/, '') : h.path;
    const fail = (why: string) => ERRORS.unsafeArchiveEntry(h.path, why);
    if (name.includes('\0')) throw fail('NUL in the name');
    const [top, idx, ...rest] = name.split('/');
    if (top !== 'paths' || idx === undefined || !/^(0|[1-9]\d{0,3})$/.test(idx)) throw fail('not under paths/<n>/');
    const index = Number(idx);
    const path = this.paths[index];
    const tree = this.trees[index];
    if (!path || !tree) throw fail(`path ${index} is not in the manifest`);
    if (rest.some((s) => s === '..' || s === '.' || s === '')) throw fail('"..", "." or empty path segment');
    const rel = rest.join('/');
    if (tree.seen.has(rel)) throw fail('duplicate entry');
    if (!['file', 'directory', 'symlink', 'hardlink', 'fifo'].includes(h.type)) {
      throw fail(`${h.type} entries are not allowed`);
    }
    if (h.mode & 0o4000) throw fail('setuid bit');
    if (h.type !== 'file' && h.size !== 0) throw fail('non-file entry with data');
    if (path.type === 'file') {
      if (rel !== baseName(path.path) || h.type !== 'file') throw fail(`not the file ${path.path} the manifest names`);
    } else if (rel === '' && h.type !== 'directory') {
      throw fail("the path's folder must be a directory");
    } else if (rel !== '' && !tree.seen.has('')) {
      throw fail("comes before its path's folder");
    }
    for (let i = 0; i < rest.length; i++) {
      if (tree.links.has(rest.slice(0, i).join('/'))) throw fail('would be written through a symlink');
    }
    if (h.type === 'symlink') this.checkSymlink(path, rel, h.linkpath, fail);
    if (h.type === 'hardlink') {
      const prefix = `paths/${index}/`;
      const target = h.linkpath.slice(prefix.length);
      if (!h.linkpath.startsWith(prefix) || !tree.files.has(target)) {
        throw fail('hard link to something that is not an earlier file of the same folder');
      }
    }
    tree.seen.add(rel);
    if (h.type === 'file') tree.files.add(rel);
    if (h.type === 'symlink') tree.links.set(rel, h.linkpath);
    return { index, rel, header: h };
  }

  /** the paths whose top entry the archive did not hold */
  missing(): string[] {
    return this.paths.flatMap((p, i) => {
      const top = p.type === 'file' ? baseName(p.path) : '';
      return this.trees[i]?.seen.has(top) ? [] : [p.path];
    });
  }

  /**
   * Once every entry is known (links may come in any order): nothing lies below a symlink, and
   * no link target climbs out of a symlink with "..".
   */
  checkLinkChains(): void {
    for (const [i, tree] of this.trees.entries()) {
      for (const rel of tree.seen) {
        const segs = rel.split('/');
        for (let n = 1; n < segs.length; n++) {
          if (tree.links.has(segs.slice(0, n).join('/'))) {
            throw ERRORS.unsafeArchiveEntry(`paths/${i}/${rel}`, 'would be written through a symlink');
          }
        }
      }
      for (const [rel, target] of tree.links) {
        const fail = (why: string) => ERRORS.unsafeArchiveEntry(`paths/${i}/${rel}`, `symlink to ${target} ${why}`);
        const start = target.startsWith('/') ? [] : rel.split('/').slice(0, -1);
        const comps = target.startsWith('/') ? absoluteInside(this.paths[i] as PathManifest, target) : target;
        if (comps === null) throw fail('points outside its folder');
        let at = [...start];
        let viaLink = false;
        for (const c of components(comps)) {
          if (c === '..') {
            if (viaLink) throw fail('climbs out of a symlink with ".."');
            if (at.length === 0) throw fail('escapes its folder');
            at = at.slice(0, -1);
            continue;
          }
          at.push(c);
          if (tree.links.has(at.join('/'))) viaLink = true;
        }
      }
    }
  }

  private checkSymlink(path: PathManifest, rel: string, target: string, fail: (why: string) => Error) {
    if (!target || target.includes('\0')) throw fail('empty symlink target');
    const comps = target.startsWith('/') ? absoluteInside(path, target) : target;
    if (comps === null) throw fail(`symlink to ${target} points outside its folder ${path.path}`);
    const start = target.startsWith('/') ? [] : rel.split('/').slice(0, -1);
    let depth = start.length;
    for (const c of components(comps)) {
      depth += c === '..' ? -1 : 1;
      if (depth < 0) throw fail(`symlink to ${target} escapes its folder ${path.path}`);
    }
  }
}

/** an absolute target below the path's folder, as components relative to it; null when outside */
function absoluteInside(path: PathManifest, target: string): string | null {
  if (path.type !== 'directory') return null;
  const t = components(target);
  const p = components(path.path);
  if (!p.every((c, i) => t[i] === c)) return null;
  return t.slice(p.length).join('/');
}

const components = (path: string) => path.split('/').filter((c) => c !== '' && c !== '.');
