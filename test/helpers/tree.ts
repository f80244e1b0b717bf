import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join, posix } from 'node:path';
import { DATA_PARTS, partFolder } from '../../src/android/layout.ts';
import { APK_STAGING_DIR } from '../../src/backup/restore/stage-app.ts';

// A folder tree as comparable data: every entry's type, mode, owner, mtime and content.

export interface Node {
  type: 'file' | 'dir' | 'link' | 'fifo' | 'socket' | 'other';
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  size: number;
  content: string;
}

export interface SnapshotOptions {
  skip?: (rel: string) => boolean;
  dirMtimes?: boolean;
  /** folders whose mtime alone may differ: a restore made its scratch in them and removed it */
  scratchIn?: readonly string[];
}

export function snapshot(root: string, opts: SnapshotOptions = {}) {
  const out = new Map<string, Node>();
  const walk = (rel: string) => {
    const path = rel ? join(root, rel) : root;
    const st = lstatSync(path);
    const type = st.isSymbolicLink()
      ? 'link'
      : st.isDirectory()
        ? 'dir'
        : st.isFile()
          ? 'file'
          : st.isFIFO()
            ? 'fifo'
            : st.isSocket()
              ? 'socket'
              : 'other';
    const content =
      type === 'file'
        ? createHash('sha256').update(readFileSync(path)).digest('hex')
        : type === 'link'
          ? readlinkSync(path)
          : '';
    out.set(rel, {
      type,
      mode: st.mode & 0o7777,
      uid: st.uid,
      gid: st.gid,
      mtime:
        type === 'dir' && (opts.dirMtimes === false || opts.scratchIn?.includes(rel))
          ? 0
          : Math.floor(st.mtimeMs / 1000),
      size: type === 'file' ? st.size : 0,
      content,
    });
    if (type === 'dir') {
      for (const name of readdirSync(path).sort()) {
        const child = rel ? `${rel}/${name}` : name;
        if (!opts.skip?.(child)) walk(child);
      }
    }
  };
  walk('');
  return out;
}

/**
 * The folders, relative to the phone folder `under`, where a restore of these packages and paths
 * makes its staging beside each target (stage-app.ts, stage-paths.ts) and the APKs and journal
 * under APK_STAGING_DIR: a refused restore removes its scratch, which leaves their mtimes changed.
 */
export function restoreScratchIn(under: string, pkgs: readonly string[], paths: readonly string[] = []): string[] {
  const parents = [
    APK_STAGING_DIR,
    ...pkgs.flatMap((pkg) => DATA_PARTS.map((part) => posix.dirname(partFolder(pkg, part)))),
    ...paths.map((p) => posix.dirname(p)),
  ];
  return [...new Set(parents.map((p) => posix.relative(under, p)).filter((r) => !r.startsWith('..')))];
}

/** The same tree with every owner replaced, for comparing a restore that gave files to a new uid. */
export function withOwners(tree: Map<string, Node>, owner: (rel: string, n: Node) => { uid: number; gid: number }) {
  return new Map([...tree].map(([rel, n]) => [rel, { ...n, ...owner(rel, n) }]));
}
