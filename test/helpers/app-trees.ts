import { chownSync, type Dirent, lstatSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Node, snapshot } from './tree.ts';

// An app's folders on an emulated phone (host paths under its root) as comparable data, for
// telling a restore target that is unchanged from one that is fully restored: every entry's
// type, mode, owner, mtime and content, in every part a backup covers.

const PARTS: Record<string, string> = {
  ce: 'data/user/0',
  de: 'data/user_de/0',
  external: 'data/media/0/Android/data',
  obb: 'data/media/0/Android/obb',
  media: 'data/media/0/Android/media',
};
// the installer's `lib` link into the APK folder is not the backup's
const skipLib = (part: string) => (part === 'ce' ? (rel: string) => rel === 'lib' : undefined);

export type AppTrees = Record<string, Record<string, Map<string, Node>>>;

export function appTrees(phoneRoot: string, apps: string[]): AppTrees {
  const out: AppTrees = {};
  for (const pkg of apps) {
    const parts: Record<string, Map<string, Node>> = {};
    for (const [part, base] of Object.entries(PARTS)) {
      const dir = join(phoneRoot, base, pkg);
      if (lstatSync(dir, { throwIfNoEntry: false })) parts[part] = snapshot(dir, { skip: skipLib(part) });
    }
    if (Object.keys(parts).length === 0) throw new Error(`${pkg} has no folders under ${phoneRoot}`);
    out[pkg] = parts;
  }
  return out;
}

/**
 * Changes an app's data the way the app itself would (files owned by its uid), so that a restore
 * that ran is told from one that did not: a file rewritten, one added, one removed.
 */
export function changeAppData(phoneRoot: string, pkg: string, mark: string): void {
  const ce = join(phoneRoot, PARTS.ce as string, pkg);
  const { uid, gid } = statSync(join(ce, 'files'));
  const write = (path: string, text: string) => {
    writeFileSync(path, text, { mode: 0o600 });
    chownSync(path, uid, gid);
  };
  write(join(ce, 'files/notes/index.json'), JSON.stringify({ pkg, notes: 3, mark }));
  write(join(ce, 'files', `added-${mark}.txt`), `written after the backup (${mark})\n`);
  rmSync(join(phoneRoot, PARTS.de as string, pkg, 'files/boot-state.txt'), { force: true });
}

/** staging and trash folders (.cpb-*) a restore left where it stages on the phone */
export function stagingLeftovers(phoneRoot: string): string[] {
  const places = [
    'data/local/tmp',
    PARTS.ce,
    PARTS.de,
    ...['data', 'obb', 'media'].map((d) => `data/media/0/Android/${d}`),
  ] as string[];
  return places.flatMap((p) =>
    (readdirSync(join(phoneRoot, p), { withFileTypes: true }) as Dirent[])
      .filter((e) => e.name.startsWith('.cpb-'))
      .map((e) => `${p}/${e.name}`),
  );
}
