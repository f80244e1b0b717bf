import type { FileHandle } from 'node:fs/promises';
import { inflateRawSync } from 'node:zlib';

// Just enough of ZIP for APKs: the end-of-central-directory record, the central directory and
// reading small entries (the manifest, signature files). Entries are read by offset, never by
// scanning local headers, like Android's own reader.

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

export interface CentralDirectory {
  offset: number;
  size: number;
  entries: ZipEntry[];
}

const EOCD_SIG = 0x06054b50;
const CD_SIG = 0x02014b50;
const LOCAL_SIG = 0x04034b50;
const EOCD_MIN = 22;
const MAX_COMMENT = 0xffff;

/** offset of the EOCD record within `tail` (the last bytes of the file), or -1 */
export function findEocd(tail: Buffer): number {
  for (let i = tail.length - EOCD_MIN; i >= 0 && i >= tail.length - EOCD_MIN - MAX_COMMENT; i--) {
    if (tail.readUInt32LE(i) === EOCD_SIG && i + EOCD_MIN + tail.readUInt16LE(i + 20) === tail.length) return i;
  }
  return -1;
}

/** the central directory's offset and size from the EOCD record */
export function eocdDirectory(tail: Buffer, eocd: number): { offset: number; size: number } {
  const size = tail.readUInt32LE(eocd + 12);
  const offset = tail.readUInt32LE(eocd + 16);
  if (offset === 0xffffffff || size === 0xffffffff) throw new Error('ZIP64 archives are not APKs');
  return { offset, size };
}

export async function readCentralDirectory(file: FileHandle, fileSize: number): Promise<CentralDirectory> {
  const tailLength = Math.min(fileSize, EOCD_MIN + MAX_COMMENT);
  const tail = await readAt(file, fileSize - tailLength, tailLength);
  const eocd = findEocd(tail);
  if (eocd < 0) throw new Error('not a ZIP file (no end of central directory record)');
  const { offset, size } = eocdDirectory(tail, eocd);
  if (offset + size > fileSize - tailLength + eocd) throw new Error('central directory lies outside the file');
  const cd = await readAt(file, offset, size);
  const entries: ZipEntry[] = [];
  for (let p = 0; p < cd.length; ) {
    if (p + 46 > cd.length || cd.readUInt32LE(p) !== CD_SIG) throw new Error('corrupt central directory');
    const nameLength = cd.readUInt16LE(p + 28);
    entries.push({
      method: cd.readUInt16LE(p + 10),
      compressedSize: cd.readUInt32LE(p + 20),
      size: cd.readUInt32LE(p + 24),
      localHeaderOffset: cd.readUInt32LE(p + 42),
      name: cd.toString('utf8', p + 46, p + 46 + nameLength),
    });
    p += 46 + nameLength + cd.readUInt16LE(p + 30) + cd.readUInt16LE(p + 32);
  }
  return { offset, size, entries };
}

/** an entry's bytes; refuses entries larger than `limit` (manifests are small, zip bombs are not) */
export async function readEntry(file: FileHandle, entry: ZipEntry, limit: number): Promise<Buffer> {
  if (entry.size > limit || entry.compressedSize > limit) throw new Error(`${entry.name} is too large`);
  const header = await readAt(file, entry.localHeaderOffset, 30);
  if (header.readUInt32LE(0) !== LOCAL_SIG) throw new Error(`corrupt local header for ${entry.name}`);
  const dataStart = entry.localHeaderOffset + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
  const data = await readAt(file, dataStart, entry.compressedSize);
  if (entry.method === 0) return data;
  if (entry.method === 8) return inflateRawSync(data, { maxOutputLength: Math.max(limit, 1) });
  throw new Error(`${entry.name} uses unsupported compression method ${entry.method}`);
}

export async function readAt(file: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  const { bytesRead } = await file.read(buf, 0, length, position);
  if (bytesRead !== length) throw new Error('unexpected end of file');
  return buf;
}
