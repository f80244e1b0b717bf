import { connect, createServer, type Socket } from 'node:net';

// A TCP relay in front of a phone's adbd that counts the bytes going each way, for tests that
// must show what did (or did not) cross the wire.

export interface Tap {
  port: number;
  /** bytes the client sent towards the device */
  fromClient: number;
  /** bytes the device sent towards the client */
  fromDevice: number;
  close(): Promise<void>;
}

export async function startTap(devicePort: number): Promise<Tap> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(devicePort, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.on('data', (d: Buffer) => {
      tap.fromClient += d.length;
    });
    upstream.on('data', (d: Buffer) => {
      tap.fromDevice += d.length;
    });
    client.pipe(upstream);
    upstream.pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    for (const s of [client, upstream]) s.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const tap: Tap = {
    port: typeof address === 'object' && address ? address.port : 0,
    fromClient: 0,
    fromDevice: 0,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  return tap;
}
