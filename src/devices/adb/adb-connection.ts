import type { Socket } from 'node:net';
import { ERRORS, type ServiceError } from '../../errors.ts';
import type { AdbKey } from './adb-key.ts';
import { AdbStream, type StreamHost } from './adb-stream.ts';
import { type DeviceBanner, type Handshake, handshake } from './handshake.ts';
import { A_CLSE, A_OKAY, A_OPEN, A_WRTE, type Packet, packetHeader } from './packet.ts';

// A connected adbd: the stream table over one socket. Losing the socket destroys every open
// stream with "device <addr> disconnected", so no reader or writer is ever left hanging.
// An inactivity watchdog does the same for a phone that stops answering without closing the
// socket (frozen, or a dead link with no RST): while some stream waits on the device and no byte
// has come from it for idleTimeoutMs, the connection fails as InstanceUnreachable (transient).

export interface ConnectOptions {
  host: string;
  port: number;
  key: AdbKey;
  timeoutMs: number;
  /** how long the device may stay silent while a stream waits on it */
  idleTimeoutMs: number;
  signal?: AbortSignal;
}

export class AdbConnection implements StreamHost {
  readonly address: string;
  private readonly streams = new Map<number, AdbStream>();
  private readonly opening = new Map<number, (err: Error | null) => void>();
  private nextId = 1;
  private closedError: ServiceError | null = null;
  private readonly closed: Promise<void>;
  /** performance.now() of the last byte from the device, or of our last packet to it */
  private lastActivity = performance.now();
  private idleTimer: NodeJS.Timeout | null = null;

  static async connect(opts: ConnectOptions): Promise<AdbConnection> {
    const hs = await handshake(opts);
    const conn = new AdbConnection(`${opts.host}:${opts.port}`, hs, opts);
    for (const p of hs.pending) conn.dispatch(p);
    hs.socket.resume();
    return conn;
  }

  private readonly socket: Socket;
  private readonly needsChecksum: boolean;
  readonly banner: DeviceBanner;
  readonly maxPayload: number;

  private constructor(
    address: string,
    hs: Handshake,
    private readonly opts: ConnectOptions,
  ) {
    this.address = address;
    this.socket = hs.socket;
    this.banner = hs.banner;
    this.maxPayload = hs.maxPayload;
    this.needsChecksum = hs.needsChecksum;
    const decoder = hs.decoder;
    const socket = hs.socket;
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => {
      this.lastActivity = performance.now();
      try {
        for (const p of decoder.push(chunk)) this.dispatch(p);
      } catch (err) {
        this.shutdown(this.disconnected(`sent a corrupt packet (${(err as Error).message})`));
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) =>
      this.shutdown(this.disconnected(`(${err.code ?? err.message})`)),
    );
    socket.on('close', () => this.shutdown(this.disconnected('')));
  }

  get features(): Set<string> {
    return this.banner.features;
  }

  get isClosed(): boolean {
    return this.closedError !== null;
  }

  /** Opens a service stream (`shell,v2,raw:…`, `exec:…`, `sync:`); bounded by the connect timeout. */
  open(service: string, signal?: AbortSignal): Promise<AdbStream> {
    if (this.closedError) return Promise.reject(this.closedError);
    if (signal?.aborted) return Promise.reject(signal.reason);
    const id = this.nextId++;
    const stream = new AdbStream(this, id, service);
    this.streams.set(id, stream);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => settle(this.failure(`did not answer OPEN ${brief(service)} within ${this.opts.timeoutMs} ms`)),
        this.opts.timeoutMs,
      );
      const onAbort = () => settle(signal?.reason ?? new Error('aborted'));
      const settle = (err: Error | null) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.opening.delete(id);
        if (!err) return resolve(stream);
        // a destroyed stream that is still opening stays in the table, so a late OKAY gets a CLSE
        stream.destroy();
        reject(err);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.opening.set(id, settle);
      this.send(A_OPEN, id, 0, Buffer.from(`${service}\0`));
    });
  }

  /** `payload` may come in parts, which go out as they are (one writev), never copied together */
  send(command: number, arg0: number, arg1: number, payload: Buffer | readonly Buffer[] = []): void {
    if (this.socket.destroyed) return;
    const parts = Buffer.isBuffer(payload) ? [payload] : payload;
    this.socket.cork();
    this.socket.write(packetHeader(command, arg0, arg1, parts, this.needsChecksum));
    for (const part of parts) if (part.length) this.socket.write(part);
    this.socket.uncork();
    // every OPEN, WRTE and deferred OKAY asks the device for an answer: its silence counts from here
    this.lastActivity = performance.now();
    this.watch();
  }

  forget(localId: number): void {
    this.streams.delete(localId);
  }

  async close(): Promise<void> {
    this.shutdown(this.disconnected('', 'closed'), true);
    this.socket.end();
    // a device that never answers our FIN must not keep close() waiting
    setTimeout(() => this.socket.destroy(), 1000).unref();
    await this.closed;
  }

  private dispatch(p: Packet): void {
    // anything else (unknown ids, stray handshake packets) is ignored, as adbd does
    const stream = this.streams.get(p.arg1);
    if (!stream) return;
    if (p.command === A_OKAY) {
      if (stream.isOpen) stream.onAck();
      else this.opened(stream, p.arg0);
    } else if (p.command === A_WRTE) {
      if (stream.isOpen) stream.onData(p.parts);
    } else if (p.command === A_CLSE) {
      if (stream.isOpen) stream.onRemoteClose();
      else {
        this.forget(stream.localId);
        this.opening.get(stream.localId)?.(this.failure(`refused the service ${brief(stream.service)}`));
      }
    }
  }

  /** arms the watchdog; a data handler that only notes the time keeps bulk transfers cheap */
  private watch(): void {
    if (this.idleTimer || this.closedError) return;
    this.idleTimer = setTimeout(() => this.checkIdle(), this.opts.idleTimeoutMs);
    // the socket keeps the process alive while it is open; the watchdog alone must not
    this.idleTimer.unref();
  }

  private checkIdle(): void {
    this.idleTimer = null;
    if (this.closedError) return;
    // nothing is owed to us (no stream, or every reader is holding the device back): disarmed
    // until the next packet we send, so an idle connection never times out
    if (this.opening.size === 0 && ![...this.streams.values()].some((s) => s.awaitsDevice)) return;
    const limit = this.opts.idleTimeoutMs;
    const silent = performance.now() - this.lastActivity;
    if (silent >= limit) {
      this.shutdown(ERRORS.instanceUnreachable(this.address, `no data from the phone for ${limit} ms`));
      return;
    }
    this.idleTimer = setTimeout(() => this.checkIdle(), limit - silent);
    this.idleTimer.unref();
  }

  private opened(stream: AdbStream, remoteId: number): void {
    stream.onOpened(remoteId);
    if (!stream.destroyed) {
      this.opening.get(stream.localId)?.(null);
      return;
    }
    // abandoned while opening (timeout or abort): close it on the device too
    this.send(A_CLSE, stream.localId, remoteId);
    this.forget(stream.localId);
  }

  private failure(why: string): ServiceError {
    return ERRORS.deviceCommandFailed(this.address, `the device ${why}`);
  }

  private disconnected(reason: string, verb = 'disconnected'): ServiceError {
    return ERRORS.instanceUnreachable(this.address, `device ${this.address} ${verb}${reason ? ` ${reason}` : ''}`);
  }

  /** fails every opening and open stream with `error`; the socket is destroyed unless we are closing it */
  private shutdown(error: ServiceError, closing = false): void {
    if (this.closedError) return;
    this.closedError = error;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    for (const settle of [...this.opening.values()]) settle(error);
    for (const stream of [...this.streams.values()]) stream.destroy(error);
    this.streams.clear();
    if (!closing) this.socket.destroy();
  }
}

function brief(service: string): string {
  return JSON.stringify(service.length > 80 ? `${service.slice(0, 77)}...` : service);
}
