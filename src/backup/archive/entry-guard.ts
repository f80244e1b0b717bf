import { posix } from 'node:path';
import { appFolders } from '../../android/layout.ts';
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

export class EntryGuard {
  private readonly seen = new Set<string>();
  private readonly links = new Set<string>();
  /** relative symlinks, checked again once every link of the archive is known */
  private readonly relativeLinks: { path: string; pkg: string; part: string; rel: string; target: string }[] = [];
  private readonly files = new Set<string>();
  private readonly apps: Map<string, Manifest['apps'][number]>;

  constructor(manifest: Manifest) {
    this.apps = new Map(manifest.apps.map((a) => [a.package, a]));
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
    for (let i = 0; i < rest.length; i++) {
      if (this.links.has(`${pkg}/${part}/${rest.slice(0, i).join('/')}`))
        throw fail('would be written through a symlink');
    }
    if (part === 'apk') this.checkApk(h, app.apks, rel, fail);
    if (h.type === 'symlink') {
      this.checkSymlink(h.linkpath, pkg, rel, fail);
      if (!h.linkpath.startsWith('/')) this.relativeLinks.push({ path: h.path, pkg, part, rel, target: h.linkpath });
    }
    if (h.type === 'hardlink') {
      const target = h.linkpath.split('/').slice(3).join('/');
      if (!h.linkpath.startsWith(`apps/${pkg}/${part}/`) || !this.files.has(`${pkg}/${part}/${target}`)) {
        throw fail('hard link to something that is not an earlier file of the same folder');
      }
    }
    if (h.type === 'symlink') this.links.add(key);
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
   * A relative link can stay inside its folder on paper and still leave it through another link:
   * with `x -> .`, `y -> x/..` names the folder's parent. Refuses any link whose target climbs
   * (`..`) out of a component that is itself a link; run after the last entry, as links may come
   * in any order.
   */
  checkLinkChains(): void {
    for (const l of this.relativeLinks) {
      const stack: string[] = [];
      const segs = [...posix.dirname(l.rel || '.').split('/'), ...l.target.split('/')];
      for (const seg of segs) {
        if (seg === '' || seg === '.') continue;
        if (seg !== '..') {
          stack.push(seg);
          continue;
        }
        if (stack.length === 0 || this.links.has(`${l.pkg}/${l.part}/${stack.join('/')}`)) {
          throw ERRORS.unsafeArchiveEntry(l.path, `symlink to ${l.target} leaves its folder through another symlink`);
        }
        stack.pop();
      }
    }
  }

  private checkApk(h: TarHeader, apks: { name: string }[], rel: string, fail: (w: string) => Error) {
    if (h.type !== 'file' || !apks.some((a) => a.name === rel)) throw fail('APK entry not listed in the manifest');
  }

  private checkSymlink(target: string, pkg: string, rel: string, fail: (w: string) => Error) {
    if (!target || target.includes('\0')) throw fail('empty symlink target');
    if (target.startsWith('/')) {
      const normal = posix.normalize(target);
      const inside = appFolders(pkg).some((dir) => normal === dir || normal.startsWith(`${dir}/`));
      if (!inside) throw fail(`symlink to ${target} points outside the app's folders`);
      return;
    }
    const resolved = posix.normalize(posix.join(posix.dirname(rel || '.'), target));
    if (resolved === '..' || resolved.startsWith('../')) throw fail(`symlink to ${target} escapes its folder`);
  }
}
