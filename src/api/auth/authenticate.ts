import { ERRORS } from '../../errors.ts';
import { ACS3, acs3Signature, acs3StringToSign, parseAuthorization, sha256Hex } from '../signing/acs3.ts';
import { sameSignature } from '../signing/percent-encode.ts';
import { rpcV1Signature, rpcV1StringToSign } from '../signing/rpc-v1.ts';
import type { CredentialLookup, NonceStore, Principal } from './ports.ts';
import { checkTimestamp } from './timestamp.ts';

/** The parts of an HTTP request the signatures cover. */
export interface SignedRequest {
  method: string;
  path: string;
  /** Decoded query pairs, in URL order. */
  query: readonly (readonly [string, string])[];
  /** Query and form-body parameters together (keys are unique). */
  params: ReadonlyMap<string, string>;
  /** Lower-case names. */
  headers: ReadonlyMap<string, string>;
  body: Buffer;
}

export interface AuthDeps {
  credentials: CredentialLookup;
  nonces: NonceStore;
  now?: () => Date;
}

/** Verifies an RPC v1 (HMAC-SHA1 params) or V3 (ACS3-HMAC-SHA256 header) signature. */
export async function authenticate(req: SignedRequest, deps: AuthDeps): Promise<Principal> {
  // this service issues no STS tokens: a request that acts under one must not pass on its AccessKey alone
  if (req.params.has('SecurityToken') || req.headers.has('x-acs-security-token')) {
    throw ERRORS.forbidden(
      'STS security tokens are not accepted here; sign with an AccessKey from `cloudphone-backup keys create`.',
    );
  }
  const authorization = req.headers.get('authorization');
  if (authorization === undefined) return verifyV1(req, deps);
  if (authorization.startsWith(`${ACS3} `)) return verifyV3(req, authorization, deps);
  throw ERRORS.incompleteSignature(`only ${ACS3} Authorization headers are supported`);
}

async function verifyV1(req: SignedRequest, deps: AuthDeps): Promise<Principal> {
  const get = (name: string) => {
    const value = req.params.get(name);
    if (!value) throw ERRORS.missingParameter(name);
    return value;
  };
  const accessKeyId = get('AccessKeyId');
  const signature = get('Signature');
  const nonce = get('SignatureNonce');
  const timestamp = get('Timestamp');
  if (get('SignatureMethod') !== 'HMAC-SHA1') throw ERRORS.invalidParameter('SignatureMethod', 'must be HMAC-SHA1');
  if (get('SignatureVersion') !== '1.0') throw ERRORS.invalidParameter('SignatureVersion', 'must be 1.0');
  const forgetAt = checkTimestamp(timestamp, deps.now?.() ?? new Date());
  const secret = await findSecret(deps.credentials, accessKeyId);
  const stringToSign = rpcV1StringToSign(req.method, req.params);
  if (!sameSignature(rpcV1Signature(stringToSign, secret.secret), signature)) {
    throw ERRORS.signatureDoesNotMatch(stringToSign);
  }
  await rememberNonce(deps.nonces, accessKeyId, nonce, forgetAt);
  return { accessKeyId, account: secret.account };
}

// Headers that must be covered by the signature when present: without them a captured request
// could be replayed with a fresh date or nonce, or redirected to another action.
const MUST_SIGN = ['host', 'x-acs-date', 'x-acs-signature-nonce', 'x-acs-content-sha256'];
const SIGN_IF_PRESENT = ['x-acs-action', 'x-acs-version', 'content-type'];

async function verifyV3(req: SignedRequest, header: string, deps: AuthDeps): Promise<Principal> {
  const auth = parseAuthorization(header);
  if (!auth) throw ERRORS.incompleteSignature('Authorization needs Credential, SignedHeaders and Signature');
  const signed = new Set(auth.signedHeaders);
  for (const name of [...MUST_SIGN, ...SIGN_IF_PRESENT.filter((h) => req.headers.has(h))]) {
    if (!req.headers.get(name)) throw ERRORS.incompleteSignature(`the ${name} header is missing`);
    if (!signed.has(name)) throw ERRORS.incompleteSignature(`the ${name} header must be signed`);
  }
  for (const name of signed) {
    if (!req.headers.has(name)) throw ERRORS.incompleteSignature(`the signed header ${name} is missing`);
  }
  const forgetAt = checkTimestamp(req.headers.get('x-acs-date') ?? '', deps.now?.() ?? new Date());
  const payloadHash = req.headers.get('x-acs-content-sha256') ?? '';
  if (payloadHash.toLowerCase() !== sha256Hex(req.body)) {
    throw ERRORS.invalidParameter('x-acs-content-sha256', 'does not match the SHA-256 of the request body');
  }
  const secret = await findSecret(deps.credentials, auth.accessKeyId);
  const stringToSign = acs3StringToSign({
    method: req.method,
    path: req.path,
    query: req.query,
    headers: req.headers,
    signedHeaders: auth.signedHeaders,
    payloadHash,
  });
  if (!sameSignature(acs3Signature(stringToSign, secret.secret), auth.signature)) {
    throw ERRORS.signatureDoesNotMatch(stringToSign);
  }
  await rememberNonce(deps.nonces, auth.accessKeyId, req.headers.get('x-acs-signature-nonce') ?? '', forgetAt);
  return { accessKeyId: auth.accessKeyId, account: secret.account };
}

async function findSecret(credentials: CredentialLookup, accessKeyId: string) {
  const found = await credentials.find(accessKeyId);
  if (!found) throw ERRORS.accessKeyNotFound();
  return found;
}

// Nonces are remembered only after the signature checks out, so strangers cannot burn them,
// and per key, so one tenant's nonces never collide with another's.
async function rememberNonce(nonces: NonceStore, accessKeyId: string, nonce: string, until: Date): Promise<void> {
  if (nonce.length > 256) throw ERRORS.invalidParameter('SignatureNonce', 'longer than 256 characters');
  if (!(await nonces.remember(`${accessKeyId}:${nonce}`, until))) throw ERRORS.nonceUsed();
}
