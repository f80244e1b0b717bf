import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  A_CLSE,
  A_CNXN,
  A_OKAY,
  A_OPEN,
  A_VERSION,
  A_WRTE,
  encodePacket,
  type Packet,
  PacketDecoder,
} from '../src/devices/adb/packet.ts';
import { type Emulator, startEmulator } from '../src/emulator/emulator.ts';

// The emulated adbd at the packet level, where the real adb client cannot show what happens:
// the banner, refusals, flow control in both directions and what a corrupt packet does.

let work: string;
let emulator: Emulator;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'emulator-adb-protocol-'));
  emulator = await startEmulator({ root: join(work, 'phone'), port: 0 });
  await mkdir(join(emulator.phone.root, 'data/local/tmp'), { recursive: true });
  await writeFile(join(emulator.phone.root, 'data/local/tmp/blob'), randomBytes(4 * 1024 * 1024));
});

afterAll(async () => {
  await emulator?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('emulated adbd, packet level', () => {
  it('answers CNXN with the device banner and only the features it implements', async () => {
    const host = await Host.connect(emulator.port);
    const banner = await host.handshake();
    expect(banner.arg0).toBe(A_VERSION);
    expect(banner.arg1).toBe(256 * 1024);
    const text = banner.payload.toString();
    expect(text).toMatch(/^device::ro\.product\.name=[^;]*;ro\.product\.model=[^;]*;ro\.product\.device=[^;]*;/);
    expect(text.endsWith(';features=shell_v2,stat_v2,ls_v2,fixed_push_mkdir,fixed_push_symlink_timestamp')).toBe(true);
    host.close();
  });

  it('refuses unknown services and delayed-ack OPENs, ignores unknown stream ids, and stays usable', async () => {
    const host = await Host.connect(emulator.port);
    await host.handshake();
    host.send(A_OPEN, 7, 0, Buffer.from('framebuffer:\0'));
    expect(await host.next()).toMatchObject({ command: A_CLSE, arg0: 0, arg1: 7 });
    host.send(A_OPEN, 8, 4096, Buffer.from('shell:echo hi\0'));
    expect(await host.next()).toMatchObject({ command: A_CLSE, arg0: 0, arg1: 8 });
    host.send(A_WRTE, 9, 12345, Buffer.from('nobody'));
    host.send(A_OKAY, 9, 12345);
    host.send(A_OPEN, 10, 0, Buffer.from('exec:echo hi\0'));
    const okay = await host.next();
    expect(okay).toMatchObject({ command: A_OKAY, arg1: 10 });
    expect(await host.next()).toMatchObject({ command: A_WRTE, arg1: 10, payload: Buffer.from('hi\n') });
    host.send(A_OKAY, 10, okay.arg0);
    expect(await host.next()).toMatchObject({ command: A_CLSE, arg0: okay.arg0, arg1: 10 });
    host.close();
  });

  it('keeps one WRTE in flight per stream until the host acknowledges it', async () => {
    const host = await Host.connect(emulator.port);
    await host.handshake();
    host.send(A_OPEN, 1, 0, Buffer.from('exec:cat /data/local/tmp/blob\0'));
    const { arg0: id } = await host.next();
    const first = await host.next();
    expect(first.command).toBe(A_WRTE);
    expect(first.payload.length).toBeLessThanOrEqual(256 * 1024);
    expect(await host.quiet(300)).toBe(true);
    host.send(A_OKAY, 1, id);
    expect((await host.next()).command).toBe(A_WRTE);
    host.close();
  });

  it('withholds OKAY for input the service has not taken yet', async () => {
    const host = await Host.connect(emulator.port);
    await host.handshake();
    // The child never reads its stdin: the pipe and the stream's buffer fill, then acks stop.
    host.send(A_OPEN, 1, 0, Buffer.from('exec:sleep 3\0'));
    const { arg0: id } = await host.next();
    let acknowledged = 0;
    for (; acknowledged < 8; acknowledged++) {
      host.send(A_WRTE, 1, id, randomBytes(256 * 1024));
      if (await host.quiet(400)) break;
      expect(await host.next()).toMatchObject({ command: A_OKAY, arg1: 1 });
    }
    // a pipe's and a buffer's worth get through, then the host must wait
    expect(acknowledged).toBeLessThan(4);
    host.close();
  });

  it('drops the connection on a corrupt packet', async () => {
    const host = await Host.connect(emulator.port);
    await host.handshake();
    const bad = encodePacket(A_OPEN, 1, 0, Buffer.from('shell:id\0'));
    bad.writeUInt32LE(0, 20); // magic no longer command ^ 0xffffffff
    host.socket.write(bad);
    await expect(host.closed).resolves.toBe(true);
  });
});

class Host {
  private queue: Packet[] = [];
  private waiter: (() => void) | null = null;
  readonly closed: Promise<boolean>;

  private constructor(readonly socket: Socket) {
    const decoder = new PacketDecoder();
    socket.on('data', (chunk: Buffer) => {
      this.queue.push(...decoder.push(chunk));
      this.waiter?.();
    });
    this.closed = new Promise((resolve) => socket.on('close', () => resolve(true)));
  }

  static connect(port: number): Promise<Host> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => resolve(new Host(socket)));
      socket.once('error', reject);
    });
  }

  send(command: number, arg0: number, arg1: number, payload?: Buffer): void {
    this.socket.write(encodePacket(command, arg0, arg1, payload));
  }

  async handshake(): Promise<Packet> {
    this.send(A_CNXN, A_VERSION, 256 * 1024, Buffer.from('host::features=shell_v2'));
    const reply = await this.next();
    expect(reply.command).toBe(A_CNXN);
    return reply;
  }

  async next(timeoutMs = 5_000): Promise<Packet> {
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length === 0) {
      if (Date.now() > deadline) throw new Error('no packet from the daemon');
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
        setTimeout(resolve, 50);
      });
    }
    return this.queue.shift() as Packet;
  }

  /** true when nothing arrives for `ms` */
  async quiet(ms: number): Promise<boolean> {
    await new Promise((r) => setTimeout(r, ms));
    return this.queue.length === 0;
  }

  close(): void {
    this.socket.destroy();
  }
}
