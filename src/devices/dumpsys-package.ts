// Reads what backup needs from `dumpsys package <pkg>`: the first `Package [<pkg>]` block of the
// Packages: section (later blocks, e.g. "Hidden system packages", describe other copies).

export interface DumpsysPackage {
  uid: number;
  versionCode: number;
  versionName: string;
  /** runtime permissions granted to user 0 */
  grantedPermissions: string[];
}

export function parseDumpsysPackage(text: string, pkg: string): DumpsysPackage | null {
  const lines = text.split(/\r?\n/);
  const start = lines.findIndex((l) => l.trim().startsWith(`Package [${pkg}]`));
  if (start < 0) return null;
  const indent = indentOf(lines[start] as string);
  const block: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.trim() && indentOf(line) <= indent) break;
    block.push(line);
  }
  const field = (name: string) => {
    for (const line of block) {
      const m = new RegExp(`(?:^|\\s)${name}=(\\S*)`).exec(line);
      if (m) return m[1] as string;
    }
    return undefined;
  };
  const uid = Number(field('userId') ?? field('appId'));
  const versionCode = Number(field('versionCode'));
  if (!Number.isSafeInteger(uid) || !Number.isSafeInteger(versionCode)) return null;
  const versionLine = block.find((l) => /^\s*versionName=/.test(l));
  return {
    uid,
    versionCode,
    versionName: versionLine ? versionLine.trim().slice('versionName='.length) : '',
    grantedPermissions: runtimeGrants(block),
  };
}

function runtimeGrants(block: string[]): string[] {
  const user = block.findIndex((l) => /^\s*User 0:/.test(l));
  if (user < 0) return [];
  const userIndent = indentOf(block[user] as string);
  const granted: string[] = [];
  let inRuntime = -1;
  for (const line of block.slice(user + 1)) {
    if (!line.trim()) continue;
    const indent = indentOf(line);
    if (indent <= userIndent) break;
    if (/^\s*runtime permissions:/.test(line)) {
      inRuntime = indent;
      continue;
    }
    if (inRuntime < 0) continue;
    if (indent <= inRuntime) {
      inRuntime = -1;
      continue;
    }
    const m = /^\s*([A-Za-z0-9_.]+): granted=true/.exec(line);
    if (m) granted.push(m[1] as string);
  }
  return granted;
}

function indentOf(line: string): number {
  return line.length - line.trimStart().length;
}
