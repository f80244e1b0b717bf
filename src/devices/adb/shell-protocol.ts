// Shell protocol v2 framing: [id u8][length u32 LE][data]. The decoder streams packet bodies
// piece by piece as they arrive, so a large stdout packet is never assembled in memory.

export const SHELL_STDIN = 0;
export const SHELL_STDOUT = 1;
export const SHELL_STDERR = 2;
export const SHELL_EXIT = 3;
export const SHELL_CLOSE_STDIN = 4;

const HEADER = 5;

export const SHELL_HEADER = HEADER;

export function encodeShellPacket(id: number, data: Buffer = Buffer.alloc(0)): Buffer {
  return Buffer.concat([shellHeader(id, data.length), data]);
}

/** the 5 bytes before a packet's data, for a sender that writes the data after it uncopied */
export function shellHeader(id: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(HEADER);
  out[0] = id;
  out.writeUInt32LE(length, 1);
  return out;
}

export class ShellPacketDecoder {
  private header = Buffer.alloc(HEADER);
  private headerFill = 0;
  private id = 0;
  private remaining = 0;

  constructor(private readonly onPiece: (id: number, data: Buffer) => void) {}

  push(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.remaining === 0 && this.headerFill < HEADER) {
        const n = Math.min(HEADER - this.headerFill, chunk.length - offset);
        chunk.copy(this.header, this.headerFill, offset, offset + n);
        this.headerFill += n;
        offset += n;
        if (this.headerFill < HEADER) return;
        this.id = this.header[0] as number;
        this.remaining = this.header.readUInt32LE(1);
        this.headerFill = 0;
        continue;
      }
      const n = Math.min(this.remaining, chunk.length - offset);
      this.remaining -= n;
      this.onPiece(this.id, chunk.subarray(offset, offset + n));
      offset += n;
    }
  }
}
