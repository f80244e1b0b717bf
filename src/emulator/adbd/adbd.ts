import type { KeyObject } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import { ConfinedFs } from './confined-fs.ts';
import { serveConnection } from './connection.ts';
import type { AdbdPhone } from './services.ts';

// The emulated phone's adbd: a TCP listener speaking the device side of the ADB protocol.

export interface AdbdOptions {
  phone: AdbdPhone;
  port: number;
  host?: string;
  /** when set, hosts must sign our AUTH token with this key's private half */
  authKey?: KeyObject;
}

export interface Adbd {
  port: number;
  address: string;
  close(): Promise<void>;
}

export async function startAdbd(opts: AdbdOptions): Promise<Adbd> {
  const fs = await ConfinedFs.open(opts.phone.root, opts.phone.hostOf);
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    serveConnection(socket, { phone: opts.phone, fs, authKey: opts.authKey });
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address();
  const port = typeof bound === 'object' && bound ? bound.port : opts.port;
  return {
    port,
    address: `${host.includes(':') ? `[${host}]` : host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
