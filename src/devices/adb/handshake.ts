import { connect, type Socket } from 'node:net';
import { ERRORS } from '../../errors.ts';
import { type AdbKey, publicKeyPayload, signToken } from './adb-key.ts';
import {
  A_AUTH,
  A_CNXN,
  A_STLS,
  A_VERSION,
  AUTH_RSAPUBLICKEY,
  AUTH_SIGNATURE,
  AUTH_TOKEN,
  commandName,
  encodePacket,
  MAX_PAYLOAD,
  type Packet,
  PacketDecoder,
} from './packet.ts';

// TCP connect plus the CNXN/AUTH exchange, bounded by one deadline. Resolves with the socket
// and decoder handed over to the stream multiplexer.

// what this client implements; adbd picks protocol variants from the intersection
const HOST_FEATURES = ['shell_v2', 'cmd', 'stat_v2', 'ls_v2', 'fixed_push_mkdir', 'fixed_push_symlink_timestamp'];

export interface DeviceBanner {
  state: string;
  props: Record<string, string>;
  features: Set<string>;
}

export interface Handshake {
  socket: Socket;
  decoder: PacketDecoder;
  banner: DeviceBanner;
  maxPayload: number;
  /** older devices (protocol < A_VERSION) still verify each packet's byte sum */
  needsChecksum: boolean;
  /** packets that arrived in the same read as the device's CNXN */
  pending: Packet[];
}

export interface HandshakeOptions {
  host: string;
  port: number;
  key: AdbKey;
  timeoutMs: number;
  signal?: AbortSignal;
}

export function handshake(opts: HandshakeOptions): Promise<Handshake> {
  const address = `${opts.host}:${opts.port}`;
  const fail = (why: string) => ERRORS.instanceUnreachable(address, why);
  const deadline = AbortSignal.timeout(opts.timeoutMs);
  const signal = opts.signal ? AbortSignal.any([opts.signal, deadline]) : deadline;
  return new Promise((resolve, reject) => {
    const socket = connect({ host: opts.host, port: opts.port });
    const decoder = new PacketDecoder();
    let sentSignature = false;
    let sentPublicKey = false;
    let settled = false;
    const finish = (err: Error | null, result?: Handshake) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      // paused until the multiplexer attaches, so no byte is read without a listener
      socket.pause();
      socket.off('data', onData).off('error', onError).off('close', onClose);
      if (err) {
        socket.destroy();
        reject(err);
      } else resolve(result as Handshake);
    };
    const unauthorized = () =>
      fail(
        "device unauthorized: it refused our ADB key (add our adbkey.pub to the device's adb_keys, " +
          'or accept the prompt on the device)',
      );
    const onAbort = () => {
      if (opts.signal?.aborted) finish(fail('connection aborted'));
      else if (sentPublicKey) finish(unauthorized());
      else finish(fail(`no ADB handshake within ${opts.timeoutMs} ms`));
    };
    const onError = (err: NodeJS.ErrnoException) => finish(fail(err.code ?? err.message));
    const onClose = () => finish(sentSignature ? unauthorized() : fail('the device closed the connection'));
    const onPacket = (p: Packet) => {
      if (p.command === A_AUTH && p.arg0 === AUTH_TOKEN) {
        if (!sentSignature) {
          sentSignature = true;
          socket.write(encodePacket(A_AUTH, AUTH_SIGNATURE, 0, signToken(opts.key, p.payload), true));
        } else if (!sentPublicKey) {
          // a second token means our signature was refused: offer the key, as adb does, and wait
          sentPublicKey = true;
          socket.write(encodePacket(A_AUTH, AUTH_RSAPUBLICKEY, 0, publicKeyPayload(opts.key), true));
        }
      } else if (p.command === A_CNXN) {
        const banner = parseBanner(p.payload.toString('utf8'));
        if (banner.state !== 'device') return finish(fail(`the device is in state "${banner.state}"`));
        const maxPayload = Math.min(p.arg1 >>> 0, MAX_PAYLOAD);
        if (maxPayload < 256) return finish(fail(`unusable max payload ${maxPayload}`));
        finish(null, { socket, decoder, banner, maxPayload, needsChecksum: p.arg0 >>> 0 < A_VERSION, pending });
      } else if (p.command === A_STLS) {
        finish(fail('the device requires TLS (wireless debugging pairing), which is not supported'));
      } else {
        finish(fail(`unexpected ${commandName(p.command)} during the handshake`));
      }
    };
    const pending: Packet[] = [];
    const onData = (chunk: Buffer) => {
      try {
        for (const p of decoder.push(chunk)) {
          if (settled) pending.push(p);
          else onPacket(p);
        }
      } catch (err) {
        finish(fail((err as Error).message));
      }
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    socket.on('data', onData).on('error', onError).on('close', onClose);
    socket.once('connect', () => {
      socket.setNoDelay(true);
      socket.setKeepAlive(true, 10_000);
      const hello = `host::features=${HOST_FEATURES.join(',')}`;
      socket.write(encodePacket(A_CNXN, A_VERSION, MAX_PAYLOAD, Buffer.from(hello), true));
    });
  });
}

/** `device::ro.product.name=x;ro.product.model=y;features=a,b` */
export function parseBanner(text: string): DeviceBanner {
  const clean = text.replace(/\0+$/, '');
  const sep = clean.indexOf('::');
  const state = sep < 0 ? clean : clean.slice(0, sep);
  const props: Record<string, string> = {};
  for (const part of (sep < 0 ? '' : clean.slice(sep + 2)).split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) props[part.slice(0, eq)] = part.slice(eq + 1);
  }
  const features = new Set((props.features ?? '').split(',').filter(Boolean));
  return { state, props, features };
}
