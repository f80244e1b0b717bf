import { isIP } from 'node:net';
import { ERRORS } from '../../errors.ts';
import { AdbDevice } from '../adb-device.ts';
import type { Device } from '../device.ts';
import { AdbConnection } from './adb-connection.ts';
import { type AdbKey, loadOrCreateKey } from './adb-key.ts';

// The entry point the rest of the service uses: an instance's `host:port` to a Device.

export interface ConnectAdbOptions {
  /** where `adbkey` / `adbkey.pub` live (created on first use) */
  keyDir: string;
  /** TCP connect + handshake (+ AUTH), and each stream OPEN; default 10 s as `adb connect` */
  timeoutMs?: number;
  /**
   * while a stream waits on the phone (an OPEN, the OKAY of a write, data we have room for), the
   * longest the phone may send nothing before the connection fails as InstanceUnreachable;
   * default 120 s. A connection with no stream open never times out.
   */
  idleTimeoutMs?: number;
  signal?: AbortSignal;
}

const keys = new Map<string, Promise<AdbKey>>();

export async function connectAdb(address: string, opts: ConnectAdbOptions): Promise<Device> {
  return new AdbDevice(await connectAdbTransport(address, opts));
}

/** The raw transport, for callers that need shell/exec/sync services directly. */
export async function connectAdbTransport(address: string, opts: ConnectAdbOptions): Promise<AdbConnection> {
  const { host, port } = parseAdbAddress(address);
  let key = keys.get(opts.keyDir);
  if (!key) {
    key = loadOrCreateKey(opts.keyDir);
    keys.set(opts.keyDir, key);
    key.catch(() => keys.delete(opts.keyDir));
  }
  return AdbConnection.connect({
    host,
    port,
    key: await key,
    timeoutMs: opts.timeoutMs ?? 10_000,
    idleTimeoutMs: opts.idleTimeoutMs ?? 120_000,
    signal: opts.signal,
  });
}

const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** `host:port`, `1.2.3.4:5555` or `[::1]:5555` */
export function parseAdbAddress(address: string): { host: string; port: number } {
  const bad = () => ERRORS.invalidParameter('Address', `${JSON.stringify(address)} is not a host:port ADB address`);
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(typeof address === 'string' ? address : '');
  if (!m) throw bad();
  const host = (m[1] ?? m[2]) as string;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) throw bad();
  if (m[1] !== undefined ? isIP(host) !== 6 : isIP(host) !== 4 && !HOSTNAME.test(host)) throw bad();
  return { host, port };
}
