import { STATUS_CODES } from 'node:http';
import { isDatabaseUnavailable } from '../db/unavailable.ts';
import { ERRORS, ServiceError, toServiceError } from '../errors.ts';

// The one place errors become Alibaba's envelope. Clients need both halves: openapi-core only
// looks at the HTTP status, pop-core only at the body's Code.

export interface ErrorEnvelope {
  RequestId: string;
  HostId: string;
  Code: string;
  Message: string;
  Recommend: string;
}

export function errorEnvelope(err: ServiceError, requestId: string, hostId: string): ErrorEnvelope {
  const q = new URLSearchParams({ q: err.code, product: 'eds-aic', requestId });
  return {
    RequestId: requestId,
    HostId: hostId,
    Code: err.code,
    Message: err.message,
    Recommend: `https://api.aliyun.com/troubleshoot?${q}`,
  };
}

/**
 * A whole HTTP/1.1 response carrying the envelope, for errors answered on the socket before a
 * request exists (an unparsable or oversized head, a CONNECT). `Connection: close` tells keep-alive clients
 * not to send anything more on this connection: the parser cannot find the next request in it.
 */
export function rawErrorResponse(
  err: ServiceError,
  requestId: string,
  hostId: string,
  opts: { head?: boolean } = {},
): string {
  const body = JSON.stringify(errorEnvelope(err, requestId, hostId));
  return [
    `HTTP/1.1 ${err.httpStatus} ${STATUS_CODES[err.httpStatus] ?? 'Error'}`,
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    '',
    // the answer to a HEAD request has the headers of the one to a GET, and no body
    opts.head ? '' : body,
  ].join('\r\n');
}

interface FastifyLikeError {
  code?: unknown;
  statusCode?: unknown;
  message: string;
}

/**
 * Our own ServiceErrors pass through; Fastify's request errors (bad media type, body too large,
 * malformed content length) keep their status in the catalogue's shape; a metadata database that
 * is away is ServiceUnavailable; anything else is an InternalError whose cause the caller logs but
 * never sends.
 */
export function toEnvelopeError(err: unknown, request: { bodyLimit: number; contentType: string }): ServiceError {
  if (err instanceof ServiceError) return err;
  const e = err as FastifyLikeError;
  if (err instanceof Error && typeof e.code === 'string' && e.code.startsWith('FST_')) {
    if (e.statusCode === 415) return ERRORS.unsupportedMediaType(request.contentType);
    if (e.statusCode === 413) return ERRORS.requestTooLarge(request.bodyLimit);
    if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
      return ERRORS.badRequest(e.message);
    }
  }
  if (isDatabaseUnavailable(err))
    return ERRORS.serviceUnavailable('the metadata database cannot be reached; retry the call');
  return toServiceError(err);
}
