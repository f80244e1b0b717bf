import { createHash } from 'node:crypto';
import { eocdDirectory, findEocd } from './zip.ts';

// The APK Signing Block sits right before the central directory:
//   uint64 size | (uint64 length, uint32 id, value)* | uint64 size | "APK Sig Block 42"
// A v3 (or v2) signer's signed data starts with length-prefixed digests, then length-prefixed
// X.509 certificates; the first certificate is the signer's. v3 wins over v2 because after a key
// rotation it names the current signer, which is what Android compares on update.

const MAGIC = Buffer.from('APK Sig Block 42', 'latin1');
const FOOTER = 24;
const V3 = 0xf05368c0;
const V2 = 0x7109871a;

export type SignatureScheme = 2 | 3;

/** where the block starts and ends, given the 24-byte footer just before the central directory */
export function blockBounds(footer: Buffer, cdOffset: number): { start: number; end: number } | null {
  if (footer.length !== FOOTER || !footer.subarray(8).equals(MAGIC)) return null;
  const size = Number(footer.readBigUInt64LE(0));
  const start = cdOffset - size - 8;
  if (size < FOOTER || start < 0) return null;
  return { start, end: cdOffset };
}

/** the signer certificate's SHA-256 (hex) from a whole signing block */
export function signerFromBlock(block: Buffer): { digest: string; scheme: SignatureScheme } | null {
  const pairs = new Map<number, Buffer>();
  let p = 8;
  while (p + 12 <= block.length - FOOTER) {
    const length = Number(block.readBigUInt64LE(p));
    if (length < 4 || p + 8 + length > block.length - FOOTER) return null;
    pairs.set(block.readUInt32LE(p + 8), block.subarray(p + 12, p + 8 + length));
    p += 8 + length;
  }
  for (const [id, scheme] of [
    [V3, 3],
    [V2, 2],
  ] as const) {
    const value = pairs.get(id);
    const cert = value && firstCertificate(value);
    if (cert) return { digest: createHash('sha256').update(cert).digest('hex'), scheme };
  }
  return null;
}

function firstCertificate(value: Buffer): Buffer | null {
  try {
    const signers = prefixed(value, 0);
    const signer = prefixed(signers, 0);
    const signedData = prefixed(signer, 0);
    const digests = prefixed(signedData, 0);
    const certificates = prefixed(signedData, 4 + digests.length);
    return prefixed(certificates, 0);
  } catch {
    return null;
  }
}

function prefixed(buf: Buffer, at: number): Buffer {
  const length = buf.readUInt32LE(at);
  if (at + 4 + length > buf.length) throw new RangeError('length prefix past the end');
  return buf.subarray(at + 4, at + 4 + length);
}

/**
 * The v3/v2 signer certificate's SHA-256 hex from the last bytes of an APK (enough to hold the
 * signing block and the central directory), for callers that stream an APK once; null when the
 * APK has no signing block or `tail` does not reach back to its start.
 */
export function signerDigestFromTail(tail: Buffer, fileSize: number): string | null {
  if (tail.length > fileSize) return null;
  const eocd = findEocd(tail);
  if (eocd < 0) return null;
  const tailStart = fileSize - tail.length;
  const { offset } = eocdDirectory(tail, eocd);
  const footerAt = offset - FOOTER - tailStart;
  if (footerAt < 0 || offset - tailStart > tail.length) return null;
  const bounds = blockBounds(tail.subarray(footerAt, footerAt + FOOTER), offset);
  if (!bounds || bounds.start < tailStart) return null;
  return signerFromBlock(tail.subarray(bounds.start - tailStart, bounds.end - tailStart))?.digest ?? null;
}
