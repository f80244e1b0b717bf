import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import path from 'node:path';
import { SOCKET_DIR } from './bridge-script.ts';
import type { Userland } from './userland.ts';

// Every phone command runs in bubblewrap with the phone folder as "/": the host's own files are
// not there at all, except read-only the two userland binaries and their libraries. We run as
// root, so the shell is root like `adb root`, but with only the capabilities a file-owning root
// shell needs: no CAP_SYS_ADMIN or CAP_MKNOD (mounting or making device nodes would reach the host).

const CAPABILITIES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETUID',
  'CAP_SETGID',
];

export interface SandboxSpec {
  root: string;
  /** host folder with the system server's socket */
  socketDir: string;
  userland: Userland;
  /** the phone's own mounts, as bwrap options (phone-mounts.ts), asked for at each spawn */
  mounts: () => string[];
}

export function sandboxArgs({ root, socketDir, userland, mounts }: SandboxSpec): string[] {
  const args = ['--bind', root, '/', ...mounts(), '--ro-bind', path.join(root, 'system'), '/system'];
  args.push('--ro-bind', userland.mksh, '/system/bin/sh', '--ro-bind', userland.toybox, '/system/bin/toybox');
  for (const lib of userland.libraries) args.push('--ro-bind', lib, lib);
  args.push('--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp', '--bind', socketDir, SOCKET_DIR);
  args.push('--unshare-pid', '--unshare-net', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try');
  args.push('--hostname', 'localhost', '--die-with-parent', '--new-session');
  args.push('--cap-drop', 'ALL');
  for (const cap of CAPABILITIES) args.push('--cap-add', cap);
  args.push('--clearenv', '--chdir', '/');
  const env: Record<string, string> = {
    PATH: '/system/bin:/system/xbin',
    HOME: '/',
    SHELL: '/system/bin/sh',
    TMPDIR: '/data/local/tmp',
    ANDROID_ROOT: '/system',
    ANDROID_DATA: '/data',
    ANDROID_STORAGE: '/storage',
    EXTERNAL_STORAGE: '/sdcard',
    HOSTNAME: 'localhost',
    USER: 'root',
    LOGNAME: 'root',
  };
  for (const [k, v] of Object.entries(env)) args.push('--setenv', k, v);
  return args;
}

/** `/system/bin/sh -c command`, or for null a shell reading commands from stdin (as adbd runs it without a pty), inside the sandbox */
export function spawnSandboxed(spec: SandboxSpec, command: string | null): ChildProcessWithoutNullStreams {
  const shell = command === null ? ['/system/bin/sh'] : ['/system/bin/sh', '-c', command];
  return spawn('bwrap', [...sandboxArgs(spec), ...shell], { stdio: 'pipe' });
}
