import type { Socket } from 'node:net';

// The server side of the bridge protocol described in bridge-script.ts.

export interface BridgeRequest {
  command: string;
  args: string[];
}

const MAX_HEADER = 1 << 20;

/** reads the request header; what follows on the socket is the command's stdin */
export function readRequest(socket: Socket): Promise<BridgeRequest> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const fail = (why: string) => {
      cleanup();
      reject(new Error(`bad bridge request: ${why}`));
    };
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const parsed = parseHeader(buf);
      if (parsed === 'bad') return fail('malformed header');
      if (parsed === null) return buf.length > MAX_HEADER ? fail('header too large') : undefined;
      cleanup();
      socket.pause();
      if (parsed.rest.length > 0) socket.unshift(parsed.rest);
      resolve(parsed.request);
    };
    const onEnd = () => fail('connection closed before the header ended');
    const cleanup = () => {
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', reject);
    };
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('error', reject);
  });
}

function parseHeader(buf: Buffer): { request: BridgeRequest; rest: Buffer } | 'bad' | null {
  const firstEnd = buf.indexOf(0x0a);
  if (firstEnd < 0) return null;
  const m = /^cloudphone\/1 ([a-z][a-z0-9_-]*) (\d{1,5})$/.exec(buf.subarray(0, firstEnd).toString('latin1'));
  if (!m?.[1] || !m[2]) return 'bad';
  const args: string[] = [];
  let pos = firstEnd + 1;
  for (let i = 0; i < Number(m[2]); i++) {
    const space = buf.indexOf(0x20, pos);
    if (space < 0) return buf.length - pos > 12 ? 'bad' : null;
    const len = Number(buf.subarray(pos, space).toString('latin1'));
    if (!Number.isSafeInteger(len) || len < 0) return 'bad';
    const end = space + 1 + len;
    if (buf.length < end + 1) return null;
    if (buf[end] !== 0x0a) return 'bad';
    args.push(buf.subarray(space + 1, end).toString('utf8'));
    pos = end + 1;
  }
  return { request: { command: m[1], args }, rest: buf.subarray(pos) };
}

/** encodes a command's output as reply records */
export class ReplyWriter {
  constructor(private readonly socket: Socket) {}

  out(text: string): void {
    this.write('o', 'O', text);
  }

  err(text: string): void {
    this.write('e', 'E', text);
  }

  exit(status: number): void {
    this.socket.end(`x${status & 0xff}\n`);
  }

  private write(line: string, partial: string, text: string): void {
    if (text === '') return;
    const lines = text.split('\n');
    const last = lines.pop() as string;
    let records = lines.map((l) => `${line}${l}\n`).join('');
    if (last !== '') records += `${partial}${last}\n`;
    this.socket.write(records);
  }
}
