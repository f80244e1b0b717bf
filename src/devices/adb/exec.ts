import type { AdbConnection } from './adb-connection.ts';
import type { AdbStream } from './adb-stream.ts';

/**
 * `exec:<command>`: a raw, binary-safe Duplex (the command's stdout; what is written goes to its
 * stdin). The device closes it when the command exits. ADB streams cannot half-close, so a
 * command reading stdin must know the length itself (as `pm install-write -S <size>` does).
 */
export function openExec(conn: AdbConnection, command: string, signal?: AbortSignal): Promise<AdbStream> {
  return conn.open(`exec:${command}`, signal);
}
