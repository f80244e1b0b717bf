import { promises as fsp } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ReplyWriter, readRequest } from './bridge-protocol.ts';
import { SOCKET_NAME } from './bridge-script.ts';
import type { Command } from './commands/command.ts';

// The emulator's system_server: runs the Android commands the bridge script forwards. It listens
// in a private host folder that the sandbox mounts as /dev/socket (a folder, not the socket file,
// so the mount stays valid whatever happens to the file).

export interface SystemServer {
  /** host folder holding the socket, mounted at /dev/socket in the sandbox */
  socketDir: string;
  close(): Promise<void>;
}

export async function startSystemServer(commands: Record<string, Command>): Promise<SystemServer> {
  const socketDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'cloudphone-'));
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    serve(socket, commands).catch(() => socket.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path.join(socketDir, SOCKET_NAME), resolve);
  });
  return {
    socketDir,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await fsp.rm(socketDir, { recursive: true, force: true });
    },
  };
}

async function serve(socket: net.Socket, commands: Record<string, Command>): Promise<void> {
  socket.on('error', () => socket.destroy());
  const request = await readRequest(socket);
  const reply = new ReplyWriter(socket);
  const command = commands[request.command];
  let status: number;
  if (!command) {
    reply.err(`${request.command}: inaccessible or not found\n`);
    status = 127;
  } else {
    try {
      status = await command({
        args: request.args,
        stdin: socket,
        out: (t) => reply.out(t),
        err: (t) => reply.err(t),
      });
    } catch (err) {
      // an unexpected fault, reported like an uncaught exception in a shell command
      reply.err(`Exception occurred while executing '${request.args[0] ?? request.command}':\n${String(err)}\n`);
      status = 255;
    }
  }
  // Unread stdin is discarded so the socket closes cleanly, without a reset.
  socket.resume();
  reply.exit(status);
}
