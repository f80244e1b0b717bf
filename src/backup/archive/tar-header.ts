// Tar headers, by hand: backups re-prefix every entry of a device's tar stream and
// restores must bound what an untrusted header may make us buffer, which general-purpose
// tar libraries do not let us control. We write the GNU dialect that Android's toybox
// writes and reads (docs/archive-format.md has the why, with the toybox sources cited).

export const BLOCK = 512;

export type EntryType = 'file' | 'hardlink' | 'symlink' | 'char' | 'block' | 'directory' | 'fifo';

export interface TarHeader {
  path: string;
  type: EntryType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** whole seconds since the epoch: toybox writes and sets no fraction (tar.c 0.8.9:275, :454) */
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

// magic + version as GNU tar and every toybox (tar.c 0.8.9:276, 0.8.0 pending:240) write them;
// GNU L/K records and base-256 numbers belong to this dialect, and it has no ustar prefix field
const GNU_MAGIC = 'ustar  \0';
const POSIX_MAGIC = 'ustar\u000000';

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
  // only POSIX ustar has a prefix field; in GNU headers those bytes mean something else
  // (archives written before we switched to GNU records use the prefix for long paths)
  const posix = block.toString('latin1', 257, 265) === POSIX_MAGIC;
  const name = readString(block, 0, 100);
  const prefix = posix ? readString(block, 345, 155) : '';
  const header = {
    path: prefix ? `${prefix}/${name}` : name,
    typeflag: String.fromCharCode(block[156] as number),
    mode: readNumber(block, 100, 8) & 0o7777,
    uid: readNumber(block, 108, 8),
    gid: readNumber(block, 116, 8),
    size: readNumber(block, 124, 12),
    mtime: readNumber(block, 136, 12),
    linkpath: readString(block, 157, 100),
  };
  if (header.uid < 0 || header.gid < 0 || header.size < 0) throw new Error('tar: negative numeric field');
  return header;
}

export function entryType(typeflag: string): EntryType | undefined {
  return TYPE_FLAGS[typeflag];
}

/**
 * Encodes one entry's header blocks: a GNU 'K' record for a link target and an 'L' record
 * for a path that do not fit their 100-byte fields (in that order, as toybox writes them:
 * tar.c 0.8.9:308, :355), then the header itself. Every toybox reads these (tar.c 0.8.9:659-662;
 * 0.8.0 pending:678-688); none reads pax `linkpath`, so we write no pax records at all.
 */
export function encodeHeader(h: TarHeader): Buffer {
  if (!h.path) throw new Error('tar: an empty path reads as the end of the archive');
  const out: Buffer[] = [];
  const link = Buffer.from(h.linkpath);
  const path = Buffer.from(h.path);
  if (link.length > 100) out.push(longRecord('K', link));
  if (path.length > 100) out.push(longRecord('L', path));
  out.push(headerBlock({ ...h, mtime: Math.max(0, Math.floor(h.mtime)) }, FLAG_OF[h.type]));
  return Buffer.concat(out);
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

/** A GNU long name ('L') or long link ('K') record: the bytes and a NUL, as GNU tar and toybox store them. */
function longRecord(typeflag: 'L' | 'K', value: Buffer): Buffer {
  const size = value.length + 1;
  const head = headerBlock(
    { path: '././@LongLink', type: 'file', mode: 0o644, uid: 0, gid: 0, size, mtime: 0, linkpath: '' },
    typeflag,
  );
  return Buffer.concat([head, value, Buffer.alloc(1 + padding(size))]);
}

function headerBlock(h: TarHeader, typeflag = FLAG_OF[h.type]): Buffer {
  const b = Buffer.alloc(BLOCK);
  // a long path or link keeps its first bytes here (its record above has all of it); Buffer.write
  // stops before a character that does not fit, and the name field must not be empty (an empty
  // name ends the archive for toybox, tar.c 0.8.9:642)
  b.write(h.path, 0, 100, 'utf8');
  writeNumber(b, h.mode & 0o7777, 100, 8);
  writeNumber(b, h.uid, 108, 8);
  writeNumber(b, h.gid, 116, 8);
  writeNumber(b, h.size, 124, 12);
  writeNumber(b, h.mtime, 136, 12);
  b.write(typeflag, 156, 1, 'latin1');
  b.write(h.linkpath, 157, 100, 'utf8');
  b.write(GNU_MAGIC, 257, 8, 'latin1');
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += b[i] as number;
  // 7 digits and a NUL: toybox's is_tar_header() refuses a checksum field that does not start
  // with '0' or ' ' (lib/lib.c 0.8.3:1433, 0.8.9:1496), and a header sum reaches 0o377000, so the
  // usual 6 digits (which toybox itself writes, tar.c 0.8.9:407) break on long non-ASCII names
  b.write(`${sum.toString(8).padStart(7, '0')}\0`, 148, 8, 'latin1');
  return b;
}

/** Octal with a NUL when it fits, else GNU base-256: 0x80, then the value big-endian (toybox itoo(), tar.c 0.8.9:101). */
function writeNumber(b: Buffer, value: number, offset: number, length: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`tar: cannot store ${value} in a header`);
  if (value < 8 ** (length - 1)) {
    b.write(value.toString(8).padStart(length - 1, '0'), offset, length - 1, 'latin1');
    return;
  }
  let v = value;
  for (let i = offset + length - 1; i > offset; i--) {
    b[i] = v % 256;
    v = Math.floor(v / 256);
  }
  b[offset] = 0x80;
}

function readString(b: Buffer, offset: number, length: number): string {
  const end = b.indexOf(0, offset);
  return b.toString('utf8', offset, end < 0 || end > offset + length ? offset + length : end);
}

/** Reads an octal field the way toybox's otoi() does (tar.c 0.8.9:112), or a base-256 one. */
function readNumber(b: Buffer, offset: number, length: number): number {
  if ((b[offset] as number) & 0x80) return readBase256(b, offset, length);
  const end = offset + length;
  let i = offset;
  while (i < end && b[i] === 0x20) i++;
  let v = 0;
  for (; i < end && (b[i] as number) >= 0x30 && (b[i] as number) <= 0x37; i++) v = v * 8 + (b[i] as number) - 0x30;
  if (i < end && b[i] !== 0 && b[i] !== 0x20) throw new Error('tar: bad numeric field');
  return v;
}

// The bytes after the marker are a two's-complement number. GNU tar sign-extends a negative
// value into the marker byte (0xff); toybox keeps the marker at 0x80 and stores the low bytes of
// the 64-bit value, which is how it writes an mtime before 1970 (itoo(), tar.c 0.8.9:101-107).
function readBase256(b: Buffer, offset: number, length: number): number {
  let v = 0n;
  for (let i = 1; i < length; i++) v = (v << 8n) | BigInt(b[offset + i] as number);
  const negative = ((b[offset + 1] as number) & 0x80) !== 0;
  if (negative) v -= 1n << BigInt(8 * (length - 1));
  const marker = b[offset] as number;
  const n = Number(v);
  if (!(marker === 0x80 || (marker === 0xff && negative)) || !Number.isSafeInteger(n))
    throw new Error('tar: numeric field out of range');
  return n;
}
