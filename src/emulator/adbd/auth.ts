import { createPublicKey, constants as cryptoConstants, type KeyObject, publicDecrypt, randomBytes } from 'node:crypto';

// ADB's RSA authentication, device side. The host signs our 20-byte token with
// RSA_sign(NID_sha1, token): PKCS#1 v1.5 over a SHA-1 DigestInfo whose "digest" is the token.

const SHA1_DIGEST_INFO = Buffer.from('3021300906052b0e03021a05000414', 'hex');

export const AUTH_TOKEN_BYTES = 20;

export function newAuthToken(): Buffer {
  return randomBytes(AUTH_TOKEN_BYTES);
}

/**
 * Parses one line of adb's `adbkey.pub`: base64 of Android's RSAPublicKey struct
 * (`len u32, n0inv u32, n[len] LE, rr[len] LE, exponent u32`, all little-endian), then a comment.
 */
export function parseAdbPublicKey(text: string): KeyObject {
  const b64 = text.trim().split(/\s+/)[0] ?? '';
  const raw = Buffer.from(b64, 'base64');
  if (raw.length < 8) throw new Error('adb public key: too short');
  const words = raw.readUInt32LE(0);
  const bytes = words * 4;
  if (words === 0 || words > 2048 || raw.length !== 8 + 2 * bytes + 4) {
    throw new Error('adb public key: malformed RSAPublicKey struct');
  }
  const modulus = Buffer.from(raw.subarray(8, 8 + bytes)).reverse();
  const exponent = raw.readUInt32LE(8 + 2 * bytes);
  const e = Buffer.alloc(4);
  e.writeUInt32BE(exponent);
  let start = 0;
  while (start < 3 && e[start] === 0) start++;
  return createPublicKey({
    key: { kty: 'RSA', n: modulus.toString('base64url'), e: e.subarray(start).toString('base64url') },
    format: 'jwk',
  });
}

/** true when `signature` is the host's PKCS#1 v1.5 signature of `token` with the private half of `key` */
export function verifyAuthSignature(key: KeyObject, token: Buffer, signature: Buffer): boolean {
  let recovered: Buffer;
  try {
    recovered = publicDecrypt({ key, padding: cryptoConstants.RSA_PKCS1_PADDING }, signature);
  } catch {
    return false;
  }
  return recovered.equals(Buffer.concat([SHA1_DIGEST_INFO, token]));
}
