// Commands that take paths (ls -Z, chcon, restorecon) are run through small wrapper scripts in
// /system/bin (wrappers.ts) that pass the shell's working folder first, so relative paths mean
// what they mean to the caller: the system server itself has no working folder on the phone.

export function splitCwd(args: string[]): { cwd: string; args: string[] } {
  const [cwd, ...rest] = args;
  // an unset PWD (never the case for mksh, which sets it) means "/"
  return { cwd: cwd?.startsWith('/') ? cwd.replace(/\/+$/, '') : '', args: rest };
}

/** the absolute phone path of an operand relative to the caller's working folder */
export const absolute = (cwd: string, operand: string) => (operand.startsWith('/') ? operand : `${cwd}/${operand}`);
