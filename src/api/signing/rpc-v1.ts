import { createHmac } from 'node:crypto';
import { canonicalQuery, percentEncode } from './percent-encode.ts';

// RPC v1 ("signature v2" in the SDKs): HMAC-SHA1 over the method and the canonicalized
// parameters, keyed by `secret + "&"`. See notes/eds-aic-api.md §2.4.

/** The string to sign, from every parameter (query and form body) except `Signature`. */
export function rpcV1StringToSign(method: string, params: Iterable<readonly [string, string]>): string {
  const signed = [...params].filter(([key]) => key !== 'Signature');
  return `${method}&${percentEncode('/')}&${percentEncode(canonicalQuery(signed))}`;
}

export function rpcV1Signature(stringToSign: string, secret: string): string {
  return createHmac('sha1', `${secret}&`).update(stringToSign, 'utf8').digest('base64');
}
