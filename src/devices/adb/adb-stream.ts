import { Duplex } from 'node:stream';
import { A_CLSE, A_OKAY, A_WRTE } from './packet.ts';

// One multiplexed ADB stream (OPEN…CLSE) as a Node Duplex.
// Inbound: each WRTE is pushed into the readable side and OKAYed only once the consumer is not
// back-pressured, so the device never has more than one unread payload of ours buffered.
// Outbound: one WRTE in flight, the next only after the device's OKAY (the protocol's rule).

export interface StreamHost {
  readonly maxPayload: number;
  send(command: number, arg0: number, arg1: number, payload?: Buffer | readonly Buffer[]): void;
  forget(localId: number): void;
}

export class AdbStream extends Duplex {
  remoteId = 0;
  private ackWaiter: (() => void) | null = null;
  private ackOwed = false;
  private remoteClosed = false;

  constructor(
    private readonly host: StreamHost,
    readonly localId: number,
    readonly service: string,
  ) {
    super({ allowHalfOpen: true });
  }

  get isOpen(): boolean {
    return this.remoteId !== 0;
  }

  /**
   * the device owes us something: the answer to OPEN, the OKAY of our last WRTE, or data that we
   * have room for. False while our consumer holds the device back (an OKAY owed to it), so a slow
   * reader never looks like a silent phone.
   */
  get awaitsDevice(): boolean {
    return !this.destroyed && (this.ackWaiter !== null || !this.ackOwed);
  }

  /** the device accepted the OPEN */
  onOpened(remoteId: number): void {
    this.remoteId = remoteId;
  }

  /** the device's OKAY for our last WRTE */
  onAck(): void {
    const waiter = this.ackWaiter;
    this.ackWaiter = null;
    waiter?.();
  }

  /** a WRTE's payload, in the pieces it arrived in */
  onData(parts: readonly Buffer[]): void {
    if (this.destroyed || this.readableEnded) return;
    let room = true;
    for (const part of parts) room = this.push(part);
    if (room) this.host.send(A_OKAY, this.localId, this.remoteId);
    else this.ackOwed = true;
  }

  /** the device sent CLSE: no more data will come and nothing we write can be delivered */
  onRemoteClose(): void {
    this.remoteClosed = true;
    this.host.forget(this.localId);
    this.onAck();
    if (!this.destroyed) this.push(null);
  }

  override _read(): void {
    if (!this.ackOwed) return;
    this.ackOwed = false;
    if (!this.remoteClosed) this.host.send(A_OKAY, this.localId, this.remoteId);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.writeChunks(chunk).then(() => callback(), callback);
  }

  // ADB has no half-close: ending our side sends nothing; protocols above signal the end of input
  override _final(callback: (error?: Error | null) => void): void {
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.remoteClosed && this.isOpen) {
      this.remoteClosed = true;
      this.host.send(A_CLSE, this.localId, this.remoteId);
      this.host.forget(this.localId);
    }
    this.onAck();
    callback(error);
  }

  /**
   * One WRTE whose payload is `parts` in order (at most maxPayload bytes in all), sent without
   * copying them together; resolves on the device's OKAY. For a writer that frames its own
   * packets (shell.ts pumpStdin) and never also uses write().
   */
  async writePacket(parts: readonly Buffer[]): Promise<void> {
    // after the device closed the stream the bytes have nowhere to go; the protocol above
    // (exit code, sync status) reports what happened, so they are dropped rather than erroring
    // the readable side, which may still hold the device's final answer
    if (this.remoteClosed || this.destroyed) return;
    await new Promise<void>((resolve) => {
      this.ackWaiter = resolve;
      this.host.send(A_WRTE, this.localId, this.remoteId, parts);
    });
    // destroyed by a failure while the WRTE was in flight: Node would report that write as a
    // success (an in-flight _write's callback(null) still counts), so the writer learns it here
    if (this.errored) throw this.errored;
  }

  private async writeChunks(chunk: Buffer): Promise<void> {
    const max = this.host.maxPayload;
    for (let offset = 0; offset < chunk.length; offset += max) {
      if (this.remoteClosed || this.destroyed) return;
      await this.writePacket([chunk.subarray(offset, offset + max)]);
    }
  }
}
