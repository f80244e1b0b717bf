// ADB transport framing, shared by the client (src/devices/adb) and the emulated adbd.
// A message is a 24-byte little-endian header (command, arg0, arg1, length, byte-sum, magic)
// followed by `length` payload bytes.

export const A_CNXN = 0x4e584e43;
export const A_AUTH = 0x48545541;
export const A_OPEN = 0x4e45504f;
export const A_OKAY = 0x59414b4f;
export const A_WRTE = 0x45545257;
export const A_CLSE = 0x45534c43;
export const A_STLS = 0x534c5453;

export const A_VERSION = 0x01000001;
export const MAX_PAYLOAD = 1024 * 1024;

export const AUTH_TOKEN = 1;
export const AUTH_SIGNATURE = 2;
export const AUTH_RSAPUBLICKEY = 3;

export interface Packet {
  command: number;
  arg0: number;
  arg1: number;
  /** the payload as it arrived, in the socket's own chunks (a stream's data needs no joining) */
  parts: Buffer[];
  /** the payload in one buffer, joined on first use (control packets: banners, tokens, names) */
  readonly payload: Buffer;
}

const HEADER = 24;

export function commandName(command: number): string {
  return Buffer.from(Uint32Array.of(command).buffer).toString('latin1');
}

/** `checksum` only for peers older than A_VERSION, which still verify the byte sum. */
export function encodePacket(
  command: number,
  arg0: number,
  arg1: number,
  payload: Buffer = Buffer.alloc(0),
  checksum = false,
): Buffer {
  const header = packetHeader(command, arg0, arg1, [payload], checksum);
  return payload.length ? Buffer.concat([header, payload]) : header;
}

/**
 * The 24-byte header of a packet whose payload is `parts` in order: a sender writes the header
 * and the parts one after the other (corked into one writev) instead of copying them together.
 */
export function packetHeader(command: number, arg0: number, arg1: number, parts: readonly Buffer[], checksum = false) {
  const header = Buffer.allocUnsafe(HEADER);
  let sum = 0;
  let length = 0;
  for (const part of parts) {
    length += part.length;
    // summing every payload byte in JavaScript costs about a second of CPU per GiB: only when needed
    if (checksum) for (let i = 0; i < part.length; i++) sum += part[i] as number;
  }
  header.writeUInt32LE(command >>> 0, 0);
  header.writeUInt32LE(arg0 >>> 0, 4);
  header.writeUInt32LE(arg1 >>> 0, 8);
  header.writeUInt32LE(length, 12);
  header.writeUInt32LE(sum >>> 0, 16);
  header.writeUInt32LE((command ^ 0xffffffff) >>> 0, 20);
  return header;
}

/** Incremental decoder: feed socket chunks, get whole packets. Throws on a corrupt header. */
export class PacketDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(private maxPayload = MAX_PAYLOAD) {}

  setMaxPayload(n: number): void {
    this.maxPayload = n;
  }

  push(chunk: Buffer): Packet[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const out: Packet[] = [];
    for (;;) {
      if (this.buffered < HEADER) break;
      const head = this.peekHeader();
      const command = head.readUInt32LE(0);
      const length = head.readUInt32LE(12);
      if ((head.readUInt32LE(20) ^ 0xffffffff) >>> 0 !== command) {
        throw new Error(`adb: bad packet magic for ${commandName(command)}`);
      }
      if (length > this.maxPayload) throw new Error(`adb: payload of ${length} bytes exceeds ${this.maxPayload}`);
      if (this.buffered < HEADER + length) break;
      this.take(HEADER);
      out.push(packet(command, head.readUInt32LE(4), head.readUInt32LE(8), this.take(length)));
    }
    return out;
  }

  /** the next 24 bytes, joined only when a header straddles two socket chunks */
  private peekHeader(): Buffer {
    const first = this.chunks[0] as Buffer;
    if (first.length >= HEADER) return first.subarray(0, HEADER);
    let count = 0;
    for (let bytes = 0; bytes < HEADER; count++) bytes += (this.chunks[count] as Buffer).length;
    const joined = Buffer.concat(this.chunks.slice(0, count));
    this.chunks.splice(0, count, joined);
    return joined.subarray(0, HEADER);
  }

  /** the next n bytes as views of the chunks they arrived in */
  private take(n: number): Buffer[] {
    this.buffered -= n;
    return takeBytes(this.chunks, n);
  }
}

/** removes the first n bytes from `chunks` (which hold at least that many) and returns them as views, uncopied */
export function takeBytes(chunks: Buffer[], n: number): Buffer[] {
  const taken: Buffer[] = [];
  let left = n;
  while (left > 0) {
    const first = chunks[0] as Buffer;
    if (first.length <= left) {
      taken.push(first);
      chunks.shift();
      left -= first.length;
    } else {
      taken.push(first.subarray(0, left));
      chunks[0] = first.subarray(left);
      left = 0;
    }
  }
  return taken;
}

function packet(command: number, arg0: number, arg1: number, parts: Buffer[]): Packet {
  let joined: Buffer | undefined;
  return {
    command,
    arg0,
    arg1,
    parts,
    get payload() {
      joined ??= parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
      return joined;
    },
  };
}
