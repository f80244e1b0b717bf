import { randomBytes } from 'node:crypto';
import { API_VERSION } from '../resolve-action.ts';
import { acs3Signature, acs3StringToSign, formatAuthorization, sha256Hex } from './acs3.ts';
import { canonicalQuery } from './percent-encode.ts';
import { rpcV1Signature, rpcV1StringToSign } from './rpc-v1.ts';

export interface SignOptions {
  /** `http(s)://host[:port]`. */
  endpoint: string;
  action: string;
  version?: string;
  /** Flat wire parameters: lists already as `Name.1`, `Name.2`. */
  params: Readonly<Record<string, string>>;
  accessKeyId: string;
  accessKeySecret: string;
  signature: 'v1' | 'v3';
  method?: 'GET' | 'POST';
  /** Send the action's parameters as a form body rather than in the query (POST only). */
  form?: boolean;
  now?: Date;
  nonce?: string;
}

export interface HttpRequest {
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
}

const FORM = 'application/x-www-form-urlencoded';

/** Signs a call the way the SDKs do: v1 like pop-core / openapi-core "v2", v3 like openapi-core. */
export function signRequest(o: SignOptions): HttpRequest {
  const method = o.method ?? 'POST';
  const inBody = o.form === true && method === 'POST';
  const business = Object.entries(o.params);
  const date = (o.now ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const base = new URL(o.endpoint);
  const body = inBody ? canonicalQuery(business) : undefined;
  return o.signature === 'v1'
    ? signV1(o, method, base, business, date, body)
    : signV3(o, method, base, business, date, body);
}

function signV1(
  o: SignOptions,
  method: 'GET' | 'POST',
  base: URL,
  business: [string, string][],
  date: string,
  body: string | undefined,
): HttpRequest {
  const common: [string, string][] = [
    ['Action', o.action],
    ['Version', o.version ?? API_VERSION],
    ['Format', 'JSON'],
    ['Timestamp', date],
    ['SignatureMethod', 'HMAC-SHA1'],
    ['SignatureVersion', '1.0'],
    ['SignatureNonce', o.nonce ?? randomBytes(16).toString('hex')],
    ['AccessKeyId', o.accessKeyId],
  ];
  const signature = rpcV1Signature(rpcV1StringToSign(method, [...common, ...business]), o.accessKeySecret);
  const query = [...common, ...(body === undefined ? business : []), ['Signature', signature] as [string, string]];
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = FORM;
  return { url: `${base.origin}/?${canonicalQuery(query)}`, method, headers, body };
}

function signV3(
  o: SignOptions,
  method: 'GET' | 'POST',
  base: URL,
  business: [string, string][],
  date: string,
  body: string | undefined,
): HttpRequest {
  const query = body === undefined ? business : [];
  const headers = new Map<string, string>([
    ['host', base.host],
    ['x-acs-action', o.action],
    ['x-acs-version', o.version ?? API_VERSION],
    ['x-acs-date', date],
    ['x-acs-signature-nonce', o.nonce ?? randomBytes(32).toString('hex')],
    ['x-acs-content-sha256', sha256Hex(body ?? '')],
  ]);
  if (body !== undefined) headers.set('content-type', FORM);
  const signedHeaders = [...headers.keys()].sort();
  const stringToSign = acs3StringToSign({
    method,
    path: '/',
    query,
    headers,
    signedHeaders,
    payloadHash: sha256Hex(body ?? ''),
  });
  const authorization = formatAuthorization({
    accessKeyId: o.accessKeyId,
    signedHeaders,
    signature: acs3Signature(stringToSign, o.accessKeySecret),
  });
  const url = query.length > 0 ? `${base.origin}/?${canonicalQuery(query)}` : `${base.origin}/`;
  return { url, method, headers: { ...Object.fromEntries(headers), accept: 'application/json', authorization }, body };
}
