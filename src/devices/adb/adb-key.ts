import {
  constants,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  privateEncrypt,
  randomUUID,
} from 'node:crypto';
import { link, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

// The host key adbd authenticates us with: `<keyDir>/adbkey` (PEM) and `adbkey.pub` in adb's own
// format, so an operator can append the .pub to a device's /data/misc/adb/adb_keys.

export interface AdbKey {
  privateKey: KeyObject;
  /** adb's public key line: base64 of the RSAPublicKey struct, a space, a comment */
  publicKeyLine: string;
}

const KEY_BITS = 2048;
const WORDS = KEY_BITS / 32;
const COMMENT = 'cloudphone-backup';
// DER prefix of a SHA-1 DigestInfo: adbd treats the 20-byte token as an already computed SHA-1 digest
const SHA1_DIGEST_INFO = Buffer.from('3021300906052b0e03021a05000414', 'hex');

export async function loadOrCreateKey(keyDir: string): Promise<AdbKey> {
  const file = join(keyDir, 'adbkey');
  let pem = await readIfExists(file);
  if (pem === null) {
    await mkdir(keyDir, { recursive: true, mode: 0o700 });
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: KEY_BITS, publicExponent: 65537 });
    const tmp = `${file}.${randomUUID()}.tmp`;
    try {
      await writeFile(tmp, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
      // link() never replaces: when two processes race, the first key wins and both use it
      await link(tmp, file).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
    } finally {
      await rm(tmp, { force: true });
    }
    pem = (await readIfExists(file)) as string;
  }
  const key = fromPrivateKey(createPrivateKey(pem));
  // the .pub is derived, so it is rewritten whenever it does not match the private key
  const pubLine = `${key.publicKeyLine}\n`;
  if ((await readIfExists(`${file}.pub`)) !== pubLine) {
    const tmp = `${file}.pub.${randomUUID()}.tmp`;
    await writeFile(tmp, pubLine, { mode: 0o600 });
    await rename(tmp, `${file}.pub`);
  }
  return key;
}

async function readIfExists(file: string): Promise<string | null> {
  return readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
}

export function fromPrivateKey(privateKey: KeyObject): AdbKey {
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
  const n = BigInt(`0x${Buffer.from(jwk.n as string, 'base64url').toString('hex')}`);
  const e = Number(BigInt(`0x${Buffer.from(jwk.e as string, 'base64url').toString('hex')}`));
  return { privateKey, publicKeyLine: `${encodePublicKey(n, e).toString('base64')} ${COMMENT}` };
}

/** adb's RSAPublicKey struct: len (words), n0inv, n (LE), rr = 2^(2*bits) mod n (LE), exponent. */
export function encodePublicKey(n: bigint, exponent: number): Buffer {
  const out = Buffer.alloc(4 + 4 + WORDS * 4 * 2 + 4);
  const word = 2n ** 32n;
  const n0 = n % word;
  out.writeUInt32LE(WORDS, 0);
  out.writeUInt32LE(Number((word - modInverse(n0, word)) % word), 4);
  writeLE(out, 8, n);
  writeLE(out, 8 + WORDS * 4, 2n ** BigInt(2 * KEY_BITS) % n);
  out.writeUInt32LE(exponent, 8 + WORDS * 8);
  return out;
}

/** The AUTH SIGNATURE payload for a device's AUTH TOKEN. */
export function signToken(key: AdbKey, token: Buffer): Buffer {
  return privateEncrypt(
    { key: key.privateKey, padding: constants.RSA_PKCS1_PADDING },
    Buffer.concat([SHA1_DIGEST_INFO, token]),
  );
}

/** The AUTH RSAPUBLICKEY payload: the public key line, NUL-terminated as adb sends it. */
export function publicKeyPayload(key: AdbKey): Buffer {
  return Buffer.from(`${key.publicKeyLine}\0`, 'latin1');
}

function writeLE(buf: Buffer, offset: number, value: bigint): void {
  let v = value;
  for (let i = 0; i < WORDS * 4; i++) {
    buf[offset + i] = Number(v & 0xffn);
    v >>= 8n;
  }
}

function modInverse(a: bigint, m: bigint): bigint {
  let [oldR, r] = [a, m];
  let [oldS, s] = [1n, 0n];
  while (r !== 0n) {
    const q = oldR / r;
    [oldR, r] = [r, oldR - q * r];
    [oldS, s] = [s, oldS - q * s];
  }
  return ((oldS % m) + m) % m;
}
