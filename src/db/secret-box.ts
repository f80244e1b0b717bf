import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { closeSync, linkSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

// Seals the AccessKey secrets the database keeps (it must keep them: a signature is checked by
// recomputing it). AES-256-GCM under a key that is not in the database: a key file created on
// first use (0600, in the data dir by default) or a key given in the config (secrets.key / env
// SECRETS_KEY). A copied database alone gives nothing away (docs/security.md).

const PREFIX = 'sealed:v1:';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface SecretKeySource {
  /** base64 of 32 bytes; wins over keyFile */
  key?: string;
  /** where the key is kept (created on first use) when none is given */
  keyFile: string;
}

/** opened secrets kept (see open); more keys than this in use at once only costs decryptions */
const MAX_OPENED = 1024;

export class SecretBox {
  #key: Buffer | undefined;
  readonly #opened = new Map<string, string>();

  constructor(private readonly source: SecretKeySource) {}

  /** where the key comes from, for messages */
  describe(): string {
    return this.source.key
      ? 'the key given in the config (secrets.key / SECRETS_KEY)'
      : `the key file ${this.source.keyFile}`;
  }

  /** a short, harmless name of the key (a digest prefix), stored with every sealed value */
  fingerprint(): string {
    return createHash('sha256').update(this.key()).digest('hex').slice(0, 8);
  }

  /** `aad` binds the sealed value to its row (the AccessKeyId), so values cannot be swapped between rows */
  seal(plaintext: string, aad: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key(), iv).setAAD(Buffer.from(aad));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const parts = [iv, cipher.getAuthTag(), body].map((b) => b.toString('base64url'));
    return `${PREFIX}${this.fingerprint()}:${parts.join(':')}`;
  }

  /**
   * Every signed request opens its key's secret, and a GCM decipher costs about 70 µs, more than
   * the key's SELECT: what was opened is kept, by value and row. That is a pure function's memo
   * (the same sealed value and AAD always open to the same secret, and a tampered one is a
   * different entry, which fails), so the caller still reads the row on every request: a deleted
   * or replaced key fails at once. The process holds the sealing key, which opens every secret,
   * so keeping the opened ones in its memory exposes nothing new.
   */
  open(sealed: string, aad: string): string {
    const memo = `${aad}\n${sealed}`;
    const known = this.#opened.get(memo);
    if (known !== undefined) return known;
    const secret = this.#open(sealed, aad);
    if (this.#opened.size >= MAX_OPENED) this.#opened.delete(this.#opened.keys().next().value as string);
    this.#opened.set(memo, secret);
    return secret;
  }

  #open(sealed: string, aad: string): string {
    if (!isSealed(sealed)) throw new Error(`the secret of ${aad} is not sealed (written by an older version?)`);
    const [fp, iv, tag, body] = sealed.slice(PREFIX.length).split(':');
    if (fp !== this.fingerprint()) {
      throw new Error(
        `the secret of ${aad} was sealed under key ${fp}, but this process has key ${this.fingerprint()} (${this.describe()}); every process must use the same key`,
      );
    }
    // a fixed tag length: a shortened tag would otherwise be accepted, and be easier to forge
    const decipher = createDecipheriv('aes-256-gcm', this.key(), Buffer.from(iv ?? '', 'base64url'), {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(Buffer.from(aad)).setAuthTag(Buffer.from(tag ?? '', 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(body ?? '', 'base64url')), decipher.final()]).toString('utf8');
  }

  private key(): Buffer {
    this.#key ??= this.source.key ? decodeKey(this.source.key, 'secrets.key') : loadOrCreate(this.source.keyFile);
    return this.#key;
  }
}

export function isSealed(value: string): boolean {
  return value.startsWith(PREFIX);
}

function decodeKey(text: string, where: string): Buffer {
  const key = Buffer.from(text.trim(), 'base64');
  if (key.length !== 32) throw new Error(`${where} must be 32 bytes in base64 (openssl rand -base64 32)`);
  return key;
}

/**
 * Reads the key file, or creates it: written under a temporary name, then linked into place, so
 * two processes starting together agree on one key and neither reads a half-written file.
 */
function loadOrCreate(file: string): Buffer {
  try {
    return decodeKey(readFileSync(file, 'utf8'), file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  const fd = openSync(temp, 'wx', 0o600);
  try {
    writeSync(fd, `${randomBytes(32).toString('base64')}\n`);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(temp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    rmSync(temp, { force: true });
  }
  return decodeKey(readFileSync(file, 'utf8'), file);
}

/** for repositories bound without one (the task hooks' transactions never touch keys) */
export const NO_SECRET_BOX = {
  describe: () => 'no key',
  seal(): never {
    throw new Error('this connection has no secret key');
  },
  open(): never {
    throw new Error('this connection has no secret key');
  },
  fingerprint: () => '',
} satisfies Pick<SecretBox, 'describe' | 'seal' | 'open' | 'fingerprint'>;

export type Sealer = Pick<SecretBox, 'describe' | 'seal' | 'open' | 'fingerprint'>;
