// POSIX tar headers, by hand: backups re-prefix every entry of a device's tar stream and
// restores must bound what an untrusted header may make us buffer, which general-purpose
// tar libraries do not let us control.

export const BLOCK = 512;

export type EntryType = 'file' | 'hardlink' | 'symlink' | 'char' | 'block' | 'directory' | 'fifo';

export interface TarHeader {
  path: string;
  type: EntryType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** seconds since the epoch */
  mtime: number;
  linkpath: string;
}

const TYPE_FLAGS: Record<string, EntryType> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file',
  '1': 'hardlink',
  '2': 'symlink',
  '3': 'char',
  '4': 'block',
  '5': 'directory',
  '6': 'fifo',
};
const FLAG_OF: Record<EntryType, string> = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  char: '3',
  block: '4',
  directory: '5',
  fifo: '6',
};

/** A raw header block: `typeflag` may also be a pax ('x', 'g') or GNU long-name ('L', 'K') record. */
export interface RawHeader extends Omit<TarHeader, 'type'> {
  typeflag: string;
}

export function decodeHeader(block: Buffer): RawHeader | null {
  if (block.every((b) => b === 0)) return null;
  const stored = readNumber(block, 148, 8);
  let sum = 8 * 0x20;
  for (let i = 0; i < BLOCK; i++) if (i < 148 || i >= 156) sum += block[i] as number;
  if (stored !== sum) throw new Error('tar: header checksum mismatch');
  const ustar = block.toString('latin1', 257, 262) === 'ustar';
  const name = readString(block, 0, 100);
  const prefix = ustar && block[345 + 154] === 0 ? readString(block, 345, 155) : '';
  return {
    path: prefix ? `${prefix}/${name}` : name,
    typeflag: String.fromCharCode(block[156] as number),
    mode: readNumber(block, 100, 8) & 0o7777,
    uid: readNumber(block, 108, 8),
    gid: readNumber(block, 116, 8),
    size: readNumber(block, 124, 12),
    mtime: readNumber(block, 136, 12),
    linkpath: readString(block, 157, 100),
  };
}

export function entryType(typeflag: string): EntryType | undefined {
  return TYPE_FLAGS[typeflag];
}

/** Encodes one entry's header blocks: a pax record first when a value does not fit ustar. */
export function encodeHeader(h: TarHeader): Buffer {
  const pax: Record<string, string> = {};
  const split = splitPath(h.path);
  if (!split) pax.path = h.path;
  if (Buffer.byteLength(h.linkpath) > 100) pax.linkpath = h.linkpath;
  if (h.size > 0o77777777777) pax.size = String(h.size);
  if (h.uid > 0o7777777) pax.uid = String(h.uid);
  if (h.gid > 0o7777777) pax.gid = String(h.gid);
  const main = ustarBlock(h, split ?? { prefix: '', name: h.path.slice(0, 100) });
  if (Object.keys(pax).length === 0) return main;
  const body = Buffer.from(
    Object.entries(pax)
      .map(([k, v]) => paxRecord(k, v))
      .join(''),
  );
  const paxHead = ustarBlock(
    { ...h, type: 'file', size: body.length, linkpath: '', mode: 0o644 },
    { prefix: '', name: 'PaxHeader' },
    'x',
  );
  return Buffer.concat([paxHead, body, Buffer.alloc(padding(body.length)), main]);
}

export function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

/** Parses a pax extended header body into its records. */
export function parsePax(body: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let pos = 0;
  while (pos < body.length) {
    const space = body.indexOf(0x20, pos);
    const len = Number.parseInt(body.toString('latin1', pos, space), 10);
    if (space < 0 || !Number.isInteger(len) || len <= 0 || pos + len > body.length)
      throw new Error('tar: bad pax record');
    const record = body.toString('utf8', space + 1, pos + len - 1);
    const eq = record.indexOf('=');
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    pos += len;
  }
  return out;
}

function paxRecord(key: string, value: string): string {
  const text = ` ${key}=${value}\n`;
  const base = Buffer.byteLength(text);
  let len = base + 1;
  while (base + String(len).length !== len) len = base + String(len).length;
  return `${len}${text}`;
}

function splitPath(path: string): { prefix: string; name: string } | null {
  if (Buffer.byteLength(path) <= 100) return { prefix: '', name: path };
  for (let i = path.indexOf('/'); i >= 0; i = path.indexOf('/', i + 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100 && name) return { prefix, name };
  }
  return null;
}

function ustarBlock(h: TarHeader, p: { prefix: string; name: string }, typeflag = FLAG_OF[h.type]): Buffer {
  const b = Buffer.alloc(BLOCK);
  b.write(p.name, 0, 100, 'utf8');
  writeOctal(b, h.mode & 0o7777, 100, 8);
  writeOctal(b, Math.min(h.uid, 0o7777777), 108, 8);
  writeOctal(b, Math.min(h.gid, 0o7777777), 116, 8);
  writeOctal(b, h.size > 0o77777777777 ? 0 : h.size, 124, 12);
  writeOctal(b, Math.max(0, Math.floor(h.mtime)), 136, 12);
  b.write(typeflag, 156, 1, 'latin1');
  if (Buffer.byteLength(h.linkpath) <= 100) b.write(h.linkpath, 157, 100, 'utf8');
  b.write('ustar\u000000', 257, 8, 'latin1');
  b.write(p.prefix, 345, 155, 'utf8');
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += b[i] as number;
  writeOctal(b, sum, 148, 7);
  return b;
}

function writeOctal(b: Buffer, value: number, offset: number, length: number): void {
  b.write(value.toString(8).padStart(length - 1, '0'), offset, length - 1, 'latin1');
}

function readString(b: Buffer, offset: number, length: number): string {
  const end = b.indexOf(0, offset);
  return b.toString('utf8', offset, end < 0 || end > offset + length ? offset + length : end);
}

function readNumber(b: Buffer, offset: number, length: number): number {
  if ((b[offset] as number) & 0x80) {
    // GNU base-256 for values that do not fit in octal
    let v = (b[offset] as number) & 0x7f;
    for (let i = 1; i < length; i++) v = v * 256 + (b[offset + i] as number);
    return v;
  }
  const text = b
    .toString('latin1', offset, offset + length)
    .replace(/[\0 ]+$/, '')
    .trim();
  const v = text ? Number.parseInt(text, 8) : 0;
  if (!Number.isFinite(v)) throw new Error('tar: bad numeric field');
  return v;
}
