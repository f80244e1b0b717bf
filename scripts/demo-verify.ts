import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { DATA_PARTS, partFolder } from '../src/android/layout.ts';

// The demo's check that a restore worked: every entry of each app's data folders (all parts a
// backup covers) on the target has the source's type, mode and content. Owners may differ (the
// target's installer gives the app its own uid); the installer's `lib` link is not backed up.

function entries(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string) => {
    const path = rel ? join(root, rel) : root;
    const st = lstatSync(path);
    const mode = (st.mode & 0o7777).toString(8);
    if (st.isSymbolicLink()) out.set(rel, `link ${mode} ${readlinkSync(path)}`);
    else if (st.isFile()) out.set(rel, `file ${mode} ${createHash('sha256').update(readFileSync(path)).digest('hex')}`);
    else if (st.isDirectory()) {
      out.set(rel, `dir ${mode}`);
      for (const name of readdirSync(path).sort())
        if (!(rel === '' && name === 'lib')) walk(rel ? `${rel}/${name}` : name);
    } else out.set(rel, `other ${mode}`);
  };
  if (existsSync(root)) walk('');
  return out;
}

export function compareApps(source: string, target: string, apps: readonly string[]) {
  const differences: string[] = [];
  let count = 0;
  let bytes = 0;
  for (const pkg of apps) {
    for (const part of DATA_PARTS) {
      const folder = partFolder(pkg, part).slice(1);
      const want = entries(join(source, folder));
      const got = entries(join(target, folder));
      for (const [rel, what] of want) {
        count++;
        if (what.startsWith('file')) bytes += lstatSync(join(source, folder, rel)).size;
        if (got.get(rel) !== what) differences.push(`${folder}/${rel}: ${got.get(rel) ?? 'missing'}, want ${what}`);
      }
      for (const rel of got.keys()) if (!want.has(rel)) differences.push(`${folder}/${rel}: not in the source`);
    }
  }
  const read = (root: string, path: string) =>
    existsSync(join(root, path)) ? readFileSync(join(root, path), 'utf8') : null;
  return { differences, entries: count, bytes, read };
}
