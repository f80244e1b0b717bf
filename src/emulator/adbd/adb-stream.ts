import { Duplex } from 'node:stream';
import { takeBytes } from '../../devices/adb/packet.ts';

// One ADB stream seen from the device, as a Node Duplex so services can simply pipe.
// Outbound: bytes are coalesced and sent as WRTEs of at most `maxData` bytes, one in flight
// (the host acknowledges each with OKAY). Inbound: a WRTE is acknowledged only once the
// consumer has drained the readable buffer, so a slow consumer throttles the host.

export interface StreamWire {
  /** sends WRTE(localId, remoteId, data) */
  write(data: Buffer): void;
  /** sends OKAY(localId, remoteId) */
  okay(): void;
  /** sends CLSE(localId, remoteId) */
  close(): void;
}

export class AdbStream extends Duplex {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private inFlight = false;
  private flushScheduled = false;
  private heldWrite: (() => void) | null = null;
  private finishing: (() => void) | null = null;
  private ackOwed = false;
  private hungUp = false;
  private closeSent = false;

  constructor(
    private readonly wire: StreamWire,
    private readonly maxData: number,
  ) {
    super({ readableHighWaterMark: 64 * 1024, allowHalfOpen: true });
  }

  /** true once the host closed the stream or the connection dropped: output is discarded from then on */
  get isHungUp(): boolean {
    return this.hungUp;
  }

  /** a WRTE arrived from the host */
  receive(data: Buffer): void {
    if (this.hungUp || this.readableEnded) return;
    if (this.push(data)) this.wire.okay();
    else this.ackOwed = true;
  }

  /** the host acknowledged our WRTE */
  acknowledged(): void {
    this.inFlight = false;
    this.flush();
  }

  /** the host closed the stream (CLSE), or the connection is gone */
  hangUp(): void {
    if (this.hungUp) return;
    this.hungUp = true;
    this.closeSent = true;
    this.dropPending();
    // Input already received still reaches the consumer; then it sees end-of-input.
    this.push(null);
    this.emit('hangup');
  }

  override _read(): void {
    if (!this.ackOwed || this.hungUp) return;
    this.ackOwed = false;
    this.wire.okay();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    if (this.hungUp || chunk.length === 0) {
      done();
      return;
    }
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    this.scheduleFlush();
    // Accepting more while below one packet's worth lets small writes coalesce into one WRTE.
    if (this.pendingBytes < this.maxData) done();
    else this.heldWrite = () => done();
  }

  override _final(done: (err?: Error | null) => void): void {
    if (this.hungUp) {
      done();
      return;
    }
    this.finishing = () => done();
    this.flush();
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.dropPending();
    if (!this.closeSent) {
      this.closeSent = true;
      this.wire.close();
    }
    done(err);
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    if (this.inFlight || this.hungUp) return;
    if (this.pendingBytes > 0) {
      this.inFlight = true;
      this.wire.write(this.takePending(Math.min(this.pendingBytes, this.maxData)));
      if (this.pendingBytes < this.maxData) this.releaseWrite();
      return;
    }
    const finish = this.finishing;
    if (finish && !this.closeSent) {
      this.finishing = null;
      this.closeSent = true;
      this.wire.close();
      // Once we closed, the host sends nothing more for this stream.
      if (!this.readableEnded) this.push(null);
      finish();
    }
  }

  private takePending(n: number): Buffer {
    const parts = takeBytes(this.pending, n);
    this.pendingBytes -= n;
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, n);
  }

  private releaseWrite(): void {
    const held = this.heldWrite;
    this.heldWrite = null;
    held?.();
  }

  private dropPending(): void {
    this.pending = [];
    this.pendingBytes = 0;
    this.finishing?.();
    this.finishing = null;
    this.releaseWrite();
  }
}
