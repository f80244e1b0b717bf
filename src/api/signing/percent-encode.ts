import { timingSafeEqual } from 'node:crypto';

/**
 * Alibaba's `enc()`: RFC 3986 percent-encoding of UTF-8 (space is %20, never `+`; `!'()*` are
 * escaped too). Both signatures canonicalize with it, so the server re-encodes decoded values
 * rather than trusting how the client happened to escape the URL.
 */
export function percentEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** `enc(k)=enc(v)` pairs sorted by key (UTF-16 code units, as the SDKs' `.sort()`), joined by `&`. */
export function canonicalQuery(pairs: Iterable<readonly [string, string]>): string {
  return [...pairs]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${percentEncode(k)}=${percentEncode(v)}`)
    .join('&');
}

/** Constant-time comparison, so a forger learns nothing from response timing. */
export function sameSignature(expected: string, given: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}
