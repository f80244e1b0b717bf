// Reads what backup and restore need from `dumpsys package <pkg>` on Android 10-14. The layout is
// frameworks/base Settings.java dumpPackageLPr / dumpSharedUsersLPr (docs/android-differences.md
// has the per-release sources and test/fixtures/android/ real samples). What varies and matters:
//  - the app id line is `userId=` up to Android 13 and `appId=` from 14, alone on its line; since
//    12, install permissions of a secondary user print `…: granted=true, userId=10`, so the field
//    is only read from a line of its own (reading `userId=10` there gave uid 10);
//  - per-user state sits under `User <n>:`; a suspended package's block holds `Suspend params:`
//    (11+) before its runtime permissions, so a user's section runs to the next `User <n>:`;
//  - packages with a shared uid list no runtime permissions of their own: those are under the
//    `SharedUser [name]` block of `Shared users:`.

export interface PermissionState {
  name: string;
  granted: boolean;
  /** e.g. USER_SET, SYSTEM_FIXED, POLICY_FIXED, GRANTED_BY_DEFAULT */
  flags: string[];
}

export interface UserState {
  installed: boolean;
  suspended: boolean;
  /** the packages holding a suspension (`suspendingPackage=`), when the release prints them */
  suspendedBy: string[];
  runtimePermissions: PermissionState[];
}

export interface DumpsysPackage {
  appId: number;
  versionCode: number;
  versionName: string;
  installer: string | null;
  sharedUser: string | null;
  /** the code is on a system partition (factory copy or an update of it) */
  system: boolean;
  /** null when the package has no `User <n>:` block for that user */
  user(user: number): UserState | null;
  /** the users it is installed for */
  installedUsers: number[];
}

export function parseDumpsysPackage(text: string, pkg: string): DumpsysPackage | null {
  const lines = text.split(/\r?\n/);
  const block = blockAfter(lines, (l) => l.trim().startsWith(`Package [${pkg}]`));
  if (!block) return null;
  const field = (name: string) => {
    const re = new RegExp(`^\\s*${name}=(.*)$`);
    for (const line of block) {
      const m = re.exec(line);
      if (m) return (m[1] as string).trim();
    }
    return undefined;
  };
  const appId = ownLineId(block);
  const versionCode = Number(/^\s*versionCode=(\d+)/m.exec(block.join('\n'))?.[1]);
  if (appId === undefined || !Number.isSafeInteger(versionCode)) return null;
  const installer = field('installerPackageName');
  // sharedUser=SharedUserSetting{1a2b3c com.example.shared/10124}
  const sharedUser = /^\s*sharedUser=SharedUserSetting\{\S+ (\S+)\/\d+\}/m.exec(block.join('\n'))?.[1] ?? null;
  const flags = field('pkgFlags') ?? field('flags') ?? '';
  const shared = sharedUser ? sharedUserBlock(lines, sharedUser) : null;
  return {
    appId,
    versionCode,
    versionName: field('versionName') ?? '',
    installer: installer && installer !== 'null' ? installer : null,
    sharedUser,
    system: /\[.*\bSYSTEM\b.*\]/.test(flags),
    installedUsers: block.flatMap((l) => {
      const m = /^\s*User (\d+):.*\binstalled=true\b/.exec(l);
      return m ? [Number(m[1])] : [];
    }),
    user(user: number) {
      const own = userSection(block, user);
      if (!own) return null;
      const head = own[0] as string;
      return {
        installed: /\binstalled=true\b/.test(head),
        suspended: /\bsuspended=true\b/.test(head),
        suspendedBy: [...own.join('\n').matchAll(/\bsuspendingPackage=(\S+)/g)].map((m) => m[1] as string),
        runtimePermissions: runtimePermissions(shared ? (userSection(shared, user) ?? []) : own),
      };
    },
  };
}

/** the lines of an indented block whose header matches, up to the next line indented as little */
function blockAfter(lines: string[], isHeader: (line: string) => boolean): string[] | null {
  const start = lines.findIndex(isHeader);
  if (start < 0) return null;
  const indent = indentOf(lines[start] as string);
  const block: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.trim() && indentOf(line) <= indent) break;
    block.push(line);
  }
  return block;
}

/** `appId=N` (14+) or `userId=N` (10-13) on a line of its own; appId wins if both appear */
function ownLineId(block: string[]): number | undefined {
  const found: Record<string, number> = {};
  for (const line of block) {
    const m = /^\s*(appId|userId)=(\d+)(?:\s+gids=\[[^\]]*\])?\s*$/.exec(line);
    if (m) found[m[1] as string] ??= Number(m[2]);
  }
  return found.appId ?? found.userId;
}

function sharedUserBlock(lines: string[], name: string): string[] | null {
  const section = lines.findIndex((l) => /^Shared users:/.test(l));
  if (section < 0) return null;
  return blockAfter(lines.slice(section + 1), (l) => l.trim().startsWith(`SharedUser [${name}]`));
}

/** from `User <n>:` to the next `User <m>:` or the end of the block */
function userSection(block: string[], user: number): string[] | null {
  const start = block.findIndex((l) => new RegExp(`^\\s*User ${user}:`).test(l));
  if (start < 0) return null;
  const end = block.findIndex((l, i) => i > start && /^\s*User \d+:/.test(l));
  return block.slice(start, end < 0 ? block.length : end);
}

function runtimePermissions(section: string[]): PermissionState[] {
  const start = section.findIndex((l) => /^\s*runtime permissions:\s*$/.test(l));
  if (start < 0) return [];
  const out: PermissionState[] = [];
  for (const line of section.slice(start + 1)) {
    // android.permission.CAMERA: granted=true, flags=[ USER_SET|USER_SENSITIVE_WHEN_GRANTED ]
    const m = /^\s*([A-Za-z0-9_.]+): granted=(true|false)(?:, flags=\[\s*([^\]]*?)\s*\])?/.exec(line);
    if (!m) break;
    // 10 separates flags with spaces, 11+ with '|' (PackageManager.permissionFlagToString users)
    const flags = (m[3] ?? '').split(/[|\s]+/).filter(Boolean);
    out.push({ name: m[1] as string, granted: m[2] === 'true', flags });
  }
  return out;
}

function indentOf(line: string): number {
  return line.length - line.trimStart().length;
}
