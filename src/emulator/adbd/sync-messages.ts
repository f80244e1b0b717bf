import type { BigIntStats } from 'node:fs';
import { constants as osConstants } from 'node:os';

// Wire encoders for the sync protocol (file_sync_protocol.h): little-endian, fixed-size records.

export const SYNC_DATA_MAX = 64 * 1024;
export const SYNC_PATH_MAX = 1024;

export const syncId = (id: string): number => Buffer.from(id, 'latin1').readUInt32LE(0);
export const syncIdName = (id: number): string => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(id >>> 0);
  return b.toString('latin1');
};

export const ID = {
  STAT: syncId('STAT'),
  LST2: syncId('LST2'),
  STA2: syncId('STA2'),
  LIST: syncId('LIST'),
  LIS2: syncId('LIS2'),
  DENT: syncId('DENT'),
  DNT2: syncId('DNT2'),
  RECV: syncId('RECV'),
  SEND: syncId('SEND'),
  DATA: syncId('DATA'),
  DONE: syncId('DONE'),
  OKAY: syncId('OKAY'),
  FAIL: syncId('FAIL'),
  QUIT: syncId('QUIT'),
} as const;

const u32 = (v: bigint | number): number => Number(BigInt(v) & 0xffffffffn);

/** `id + u32` messages: DATA headers, DONE, OKAY */
export function idWithLength(id: number, value: number): Buffer {
  const b = Buffer.allocUnsafe(8);
  b.writeUInt32LE(id >>> 0, 0);
  b.writeUInt32LE(value >>> 0, 4);
  return b;
}

export function failMessage(message: string): Buffer {
  const text = Buffer.from(message, 'utf8');
  return Buffer.concat([idWithLength(ID.FAIL, text.length), text]);
}

/** STAT v1: lstat's mode, size and mtime truncated to 32 bits; all zeros for a missing file */
export function statV1(st: BigIntStats | null): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt32LE(ID.STAT, 0);
  if (st) {
    b.writeUInt32LE(u32(st.mode), 4);
    b.writeUInt32LE(u32(st.size), 8);
    b.writeUInt32LE(u32(st.mtimeMs / 1000n), 12);
  }
  return b;
}

/** the 72-byte stat_v2 record (STA2/LST2), also the head of a DNT2 entry */
export function statV2(id: number, st: BigIntStats | null, errno: number): Buffer {
  const b = Buffer.alloc(72);
  b.writeUInt32LE(id, 0);
  b.writeUInt32LE(st ? 0 : errno, 4);
  if (st) {
    b.writeBigUInt64LE(BigInt.asUintN(64, st.dev), 8);
    b.writeBigUInt64LE(BigInt.asUintN(64, st.ino), 16);
    b.writeUInt32LE(u32(st.mode), 24);
    b.writeUInt32LE(u32(st.nlink), 28);
    b.writeUInt32LE(u32(st.uid), 32);
    b.writeUInt32LE(u32(st.gid), 36);
    b.writeBigUInt64LE(BigInt.asUintN(64, st.size), 40);
    b.writeBigInt64LE(st.atimeMs / 1000n, 48);
    b.writeBigInt64LE(st.mtimeMs / 1000n, 56);
    b.writeBigInt64LE(st.ctimeMs / 1000n, 64);
  }
  return b;
}

export function dentV1(st: BigIntStats | null, name: string): Buffer {
  const n = Buffer.from(name, 'utf8');
  const b = Buffer.alloc(16);
  b.writeUInt32LE(st ? ID.DENT : ID.DONE, 0);
  if (st) {
    b.writeUInt32LE(u32(st.mode), 4);
    b.writeUInt32LE(u32(st.size), 8);
    b.writeUInt32LE(u32(st.mtimeMs / 1000n), 12);
  }
  return Buffer.concat([b, n]);
}

export function dentV2(st: BigIntStats | null, name: string): Buffer {
  const n = Buffer.from(name, 'utf8');
  const head = statV2(st ? ID.DNT2 : ID.DONE, st, 0);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(n.length);
  return Buffer.concat([head, len, n]);
}

/** the errno number Linux would report, for stat_v2's error field */
export function errnoOf(err: unknown): number {
  const e = err as NodeJS.ErrnoException;
  if (typeof e.errno === 'number' && e.errno !== 0) return Math.abs(e.errno);
  const byName = (osConstants.errno as Record<string, number>)[e.code ?? ''];
  return byName ?? osConstants.errno.EIO;
}

const STRERROR: Record<string, string> = {
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  EPERM: 'Operation not permitted',
  EISDIR: 'Is a directory',
  ENOTDIR: 'Not a directory',
  ELOOP: 'Too many levels of symbolic links',
  EEXIST: 'File exists',
  ENOSPC: 'No space left on device',
  EROFS: 'Read-only file system',
  ENAMETOOLONG: 'File name too long',
  EINVAL: 'Invalid argument',
  ENOTEMPTY: 'Directory not empty',
};

/** adbd's `SendSyncFailErrno` text: "<what>: <strerror>" */
export function failErrno(what: string, err: unknown): Buffer {
  const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
  return failMessage(`${what}: ${STRERROR[code] ?? 'I/O error'}`);
}
