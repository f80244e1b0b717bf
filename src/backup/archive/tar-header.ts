// Tar headers, by hand: backups re-prefix every entry of a device's tar stream and
// restores must bound what an untrusted header may make us buffer, which general-purpose
// tar libraries do not let us control. What we write is what every toybox on Android 10-14
// reads; docs/archive-format.md has the reasons, with the toybox sources cited.

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

// POSIX ustar, because its prefix field is what spares most long paths a record of their own;
// every toybox accepts any magic that starts with "ustar" (lib/lib.c 0.8.9:1495, 0.8.0 pending
// tar.c:604) and reads the prefix whatever the magic (tar.c 0.8.9:760), GNU tar only with this one
const POSIX_MAGIC = 'ustar\u000000';
// toybox 0.8.0 reads no base-256 (its otoi() is strtol(), pending tar.c:497-506); an mtime past
// the octal range (the year 2242) is garbage anyway, so it is clamped rather than made unreadable
const MAX_OCTAL_12 = 8 ** 11 - 1;

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
  // GNU headers (toybox's "ustar  \0") have no prefix field; those bytes mean something else there
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
    mtime: readMtime(block),
    linkpath: readString(block, 157, 100),
  };
  // uid_t is 32 bits: more is toybox 0.8.3/0.8.4's broken base-256 (itoo(), tar.c 0.8.3:88-96)
  if (header.uid > 0xffffffff || header.gid > 0xffffffff || header.uid < 0 || header.gid < 0)
    throw new Error('tar: owner out of range');
  if (header.size < 0) throw new Error('tar: negative size');
  return header;
}

export function entryType(typeflag: string): EntryType | undefined {
  return TYPE_FLAGS[typeflag];
}

/**
 * Encodes one entry's header blocks: a GNU 'L' record for a path that fits neither the name
 * field nor a ustar prefix/name split, a GNU 'K' record for a link target over 100 bytes, then
 * the header itself. No pax: toybox 0.8.3 (Android 11) ignores pax `path` (its sscanf() test can
 * never pass, tar.c 0.8.3:598-604, fixed in 0.8.4) and no toybox reads pax `linkpath`.
 */
export function encodeHeader(h: TarHeader): Buffer {
  if (!h.path) throw new Error('tar: an empty path reads as the end of the archive');
  const out: Buffer[] = [];
  const split = splitPath(h.path);
  if (!split) out.push(longRecord('L', h.path));
  if (Buffer.byteLength(h.linkpath) > 100) out.push(longRecord('K', h.linkpath));
  const mtime = Math.min(Math.max(0, Math.floor(h.mtime)), MAX_OCTAL_12);
  out.push(headerBlock({ ...h, mtime }, split ?? { prefix: '', name: h.path }, FLAG_OF[h.type]));
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

/**
 * A GNU long name or link record as GNU tar and toybox write it (tar.c 0.8.9:130-157): the bytes
 * and a NUL. toybox 0.8.0 reads its body with a single read(2) (pending tar.c:678-687), so there
 * a body that reaches it in two pieces ends the extraction early, with exit 0: the ustar prefix
 * keeps paths up to 255 bytes out of these records.
 */
function longRecord(typeflag: 'L' | 'K', value: string): Buffer {
  const body = Buffer.concat([Buffer.from(value), Buffer.alloc(1)]);
  const name = '././@LongLink';
  const meta: TarHeader = {
    path: name,
    type: 'file',
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: body.length,
    mtime: 0,
    linkpath: '',
  };
  const head = headerBlock(meta, { prefix: '', name }, typeflag);
  return Buffer.concat([head, body, Buffer.alloc(padding(body.length))]);
}

// The prefix stays under 155 bytes: toybox 0.8.0 glues prefix, '/' and name into a 256-byte
// buffer and fails with "filename too long" when it is full (pending tar.c:645-653).
function splitPath(path: string): { prefix: string; name: string } | null {
  if (Buffer.byteLength(path) <= 100) return { prefix: '', name: path };
  for (let i = path.indexOf('/'); i >= 0; i = path.indexOf('/', i + 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 154 && Buffer.byteLength(name) <= 100 && name) return { prefix, name };
  }
  return null;
}

function headerBlock(h: TarHeader, p: { prefix: string; name: string }, typeflag: string): Buffer {
  const b = Buffer.alloc(BLOCK);
  // a path in an 'L' record keeps its first bytes here: Buffer.write stops before a character that
  // does not fit, and the field must not be empty (that ends the archive for toybox, tar.c 0.8.9:642)
  b.write(p.name, 0, 100, 'utf8');
  writeNumber(b, h.mode & 0o7777, 100, 8);
  writeNumber(b, h.uid, 108, 8);
  writeNumber(b, h.gid, 116, 8);
  writeNumber(b, h.size, 124, 12);
  writeNumber(b, h.mtime, 136, 12);
  b.write(typeflag, 156, 1, 'latin1');
  b.write(h.linkpath, 157, 100, 'utf8');
  b.write(POSIX_MAGIC, 257, 8, 'latin1');
  b.write(p.prefix, 345, 155, 'utf8');
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += b[i] as number;
  // 7 digits and a NUL: toybox's is_tar_header() refuses a checksum field that does not start
  // with '0' or ' ' (lib/lib.c 0.8.3:1433, 0.8.9:1496), and a sum goes up to 0o377000, so the
  // usual 6 digits (which toybox itself writes, tar.c 0.8.9:407) break on long non-ASCII names
  b.write(`${sum.toString(8).padStart(7, '0')}\0`, 148, 8, 'latin1');
  return b;
}

/** Octal with a NUL when it fits, else GNU base-256: 0x80, then the value big-endian (as toybox's itoo(), tar.c 0.8.9:101). */
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

// A timestamp does not frame the stream, so one no tar can mean (toybox 0.8.3/0.8.4 write
// garbage base-256 for mtimes before 1970 or after 2242) reads as the epoch instead of failing a backup.
function readMtime(block: Buffer): number {
  try {
    return readNumber(block, 136, 12);
  } catch {
    return 0;
  }
}

/** Reads an octal field the way toybox's otoi() does (tar.c 0.8.9:112-126), or a base-256 one. */
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

// GNU tar marks a negative value by sign-extending it into the marker byte (0xff). toybox 0.8.6+
// keeps the 0x80 marker and stores a negative time_t (an mtime before 1970) as its unsigned 64 bits.
function readBase256(b: Buffer, offset: number, length: number): number {
  const marker = b[offset] as number;
  let v = marker === 0xff ? -1n : 0n;
  for (let i = 1; i < length; i++) v = (v << 8n) | BigInt(b[offset + i] as number);
  if (marker === 0x80 && v >= 1n << 63n && v < 1n << 64n) v -= 1n << 64n;
  const n = Number(v);
  if ((marker !== 0x80 && marker !== 0xff) || !Number.isSafeInteger(n))
    throw new Error('tar: numeric field out of range');
  return n;
}
