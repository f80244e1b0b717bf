import type { ShellExit } from './adb/shell.ts';

// toybox tar cannot archive a UNIX socket: add_to_tar() reports `unknown file type '140000'`
// (S_IFSOCK in octal), archives everything else and exits 1, adding `had errors` at the end
// (toys/posix/tar.c, toybox 0.8.9; reproduced with Debian's toybox 0.8.9). The archive is complete
// but for the sockets, which the backup lists beforehand and records as skipped, so that exit is a
// success; any other message is a real failure.

const SOCKET = /^tar: unknown file type '140000'$/;
const SUMMARY = /^tar: had errors$/;

export function isSocketOnlyFailure(exit: ShellExit): boolean {
  if (exit.exitCode !== 1) return false;
  const lines = exit.stderr.split('\n').filter((l) => l.trim() !== '');
  return lines.some((l) => SOCKET.test(l)) && lines.every((l) => SOCKET.test(l) || SUMMARY.test(l));
}
