import type { KeyObject } from 'node:crypto';
import type { Socket } from 'node:net';
import {
  A_AUTH,
  A_CLSE,
  A_CNXN,
  A_OKAY,
  A_OPEN,
  A_VERSION,
  A_WRTE,
  AUTH_SIGNATURE,
  AUTH_TOKEN,
  encodePacket,
  MAX_PAYLOAD,
  type Packet,
  PacketDecoder,
} from '../../devices/adb/packet.ts';
import { AdbStream } from './adb-stream.ts';
import { newAuthToken, verifyAuthSignature } from './auth.ts';
import type { ConfinedFs } from './confined-fs.ts';
import { type AdbdPhone, serviceFor } from './services.ts';

// One host connection, device side: CNXN (after AUTH when a key is configured), then a table of
// streams. Packets for unknown streams are ignored; a corrupt packet ends the connection.

// No cmd/abb/abb_exec (install-multiple then uses `exec:pm`), no delayed_ack, no sendrecv_v2.
const FEATURES = 'shell_v2,stat_v2,ls_v2,fixed_push_mkdir,fixed_push_symlink_timestamp';

export interface ConnectionOptions {
  phone: AdbdPhone;
  fs: ConfinedFs;
  /** when set, only a host holding this key's private half gets in */
  authKey?: KeyObject;
}

export function serveConnection(socket: Socket, opts: ConnectionOptions): void {
  const decoder = new PacketDecoder(MAX_PAYLOAD);
  const streams = new Map<number, AdbStream>();
  let online = false;
  let token: Buffer | null = null;
  let version = A_VERSION;
  let maxData = MAX_PAYLOAD;
  let nextId = 1;

  const send = (command: number, arg0: number, arg1: number, payload?: Buffer) => {
    if (!socket.destroyed) socket.write(encodePacket(command, arg0, arg1, payload, version < A_VERSION));
  };
  const hangUpAll = () => {
    for (const stream of streams.values()) stream.hangUp();
    streams.clear();
  };
  const goOnline = () => {
    online = true;
    token = null;
    send(A_CNXN, version, maxData, Buffer.from(banner(opts.phone.props)));
  };

  const onPacket = (p: Packet) => {
    switch (p.command) {
      case A_CNXN:
        // A new CNXN restarts the session, as on adbd.
        hangUpAll();
        online = false;
        version = Math.min(p.arg0 >>> 0, A_VERSION);
        maxData = Math.min(p.arg1 >>> 0, MAX_PAYLOAD);
        if (!opts.authKey) return goOnline();
        token = newAuthToken();
        return send(A_AUTH, AUTH_TOKEN, 0, token);
      case A_AUTH:
        if (online || !token || !opts.authKey || p.arg0 !== AUTH_SIGNATURE) return; // RSAPUBLICKEY: never accepted
        if (verifyAuthSignature(opts.authKey, token, p.payload)) return goOnline();
        token = newAuthToken();
        return send(A_AUTH, AUTH_TOKEN, 0, token);
      case A_OPEN:
        if (online) open(p);
        return;
      case A_OKAY:
        streams.get(p.arg1)?.acknowledged();
        return;
      case A_WRTE:
        streams.get(p.arg1)?.receive(p.payload);
        return;
      case A_CLSE: {
        const stream = streams.get(p.arg1);
        streams.delete(p.arg1);
        stream?.hangUp();
        return;
      }
    }
  };

  const open = (p: Packet) => {
    const remoteId = p.arg0;
    if (remoteId === 0) return;
    const nul = p.payload.indexOf(0);
    const name = (nul < 0 ? p.payload : p.payload.subarray(0, nul)).toString('utf8');
    // A nonzero arg1 asks for delayed acks, which this daemon never offered.
    const handler = p.arg1 === 0 ? serviceFor(name, opts.phone, opts.fs) : null;
    if (!handler) return send(A_CLSE, 0, remoteId);
    const localId = nextId++;
    const stream = new AdbStream(
      {
        write: (data) => send(A_WRTE, localId, remoteId, data),
        okay: () => send(A_OKAY, localId, remoteId),
        close: () => {
          if (streams.get(localId) === stream) streams.delete(localId);
          send(A_CLSE, localId, remoteId);
        },
      },
      maxData,
    );
    stream.on('error', () => undefined); // a failed service just closes its stream
    streams.set(localId, stream);
    send(A_OKAY, localId, remoteId);
    handler(stream);
  };

  socket.setNoDelay(true);
  socket.on('data', (chunk: Buffer) => {
    let packets: Packet[];
    try {
      packets = decoder.push(chunk);
    } catch {
      socket.destroy();
      return;
    }
    for (const p of packets) onPacket(p);
  });
  socket.on('error', () => undefined);
  socket.on('close', hangUpAll);
}

function banner(props: Record<string, string>): string {
  // ';' and '=' would break the host's key=value parsing.
  const prop = (key: string) => `${key}=${(props[key] ?? '').replace(/[;=]/g, '_')}`;
  const keys = ['ro.product.name', 'ro.product.model', 'ro.product.device'];
  return `device::${keys.map(prop).join(';')};features=${FEATURES}`;
}
