import { createHash, createHmac } from 'node:crypto';
import { canonicalQuery } from './percent-encode.ts';

// V3 signature (ACS3-HMAC-SHA256): see notes/eds-aic-api.md §2.5.

export const ACS3 = 'ACS3-HMAC-SHA256';

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export interface CanonicalRequest {
  method: string;
  path: string;
  query: Iterable<readonly [string, string]>;
  /** Lower-case header name → value, for at least every signed header. */
  headers: ReadonlyMap<string, string>;
  /** Lower-case, sorted. */
  signedHeaders: readonly string[];
  payloadHash: string;
}

export function acs3StringToSign(req: CanonicalRequest): string {
  const headers = req.signedHeaders.map((name) => `${name}:${(req.headers.get(name) ?? '').trim()}\n`).join('');
  const canonical = [
    req.method,
    req.path,
    canonicalQuery(req.query),
    headers,
    req.signedHeaders.join(';'),
    req.payloadHash,
  ].join('\n');
  return `${ACS3}\n${sha256Hex(canonical)}`;
}

export function acs3Signature(stringToSign: string, secret: string): string {
  return createHmac('sha256', secret).update(stringToSign, 'utf8').digest('hex');
}

export interface Authorization {
  accessKeyId: string;
  signedHeaders: string[];
  signature: string;
}

export function formatAuthorization(auth: Authorization): string {
  return `${ACS3} Credential=${auth.accessKeyId},SignedHeaders=${auth.signedHeaders.join(';')},Signature=${auth.signature}`;
}

/** Parses `ACS3-HMAC-SHA256 Credential=…,SignedHeaders=…,Signature=…`; null when a part is missing. */
export function parseAuthorization(header: string): Authorization | null {
  if (!header.startsWith(`${ACS3} `)) return null;
  const parts = new Map<string, string>();
  for (const part of header.slice(ACS3.length + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) parts.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const accessKeyId = parts.get('Credential');
  const signedHeaders = parts.get('SignedHeaders');
  const signature = parts.get('Signature');
  if (!accessKeyId || !signedHeaders || !signature) return null;
  return { accessKeyId, signedHeaders: signedHeaders.split(';'), signature };
}
