import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import type { AdbStream } from './adb-stream.ts';
import type { ConfinedFs } from './confined-fs.ts';
import { runShell, shellModeOf } from './shell-service.ts';
import { runSync } from './sync-service.ts';

// What the daemon needs from the phone: its folder, its properties and a sandboxed shell.
export interface AdbdPhone {
  root: string;
  /** the folder that holds a canonical phone path, where the phone mounts one folder at another path */
  hostOf?: (canonicalPhonePath: string) => string;
  props: Record<string, string>;
  /** `/system/bin/sh -c command` in the phone's sandbox, or an interactive sh for null */
  spawnShell(command: string | null): ChildProcessWithoutNullStreams;
}

export type ServiceHandler = (stream: AdbStream) => void;

/** the handler for an OPENed service name, or null for services this daemon does not offer */
export function serviceFor(service: string, phone: AdbdPhone, fs: ConfinedFs): ServiceHandler | null {
  if (service === 'sync:') return (stream) => void runSync(stream, fs);
  if (service.startsWith('exec:')) {
    const command = service.slice('exec:'.length);
    return shell(phone, command, 'exec');
  }
  const m = /^shell((?:,[^:]*)?):([\s\S]*)$/.exec(service);
  if (m) {
    const args = (m[1] as string).split(',').filter(Boolean);
    return shell(phone, m[2] as string, shellModeOf(args));
  }
  return null;
}

function shell(phone: AdbdPhone, command: string, mode: Parameters<typeof runShell>[2]): ServiceHandler {
  return (stream) => {
    let child: ChildProcessWithoutNullStreams;
    try {
      child = phone.spawnShell(command === '' ? null : command);
    } catch (err) {
      stream.destroy(err as Error);
      return;
    }
    runShell(stream, child, mode);
  };
}
