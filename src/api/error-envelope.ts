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

interface FastifyLikeError {
  code?: unknown;
  statusCode?: unknown;
  message: string;
}

/**
 * Our own ServiceErrors pass through; Fastify's request errors (bad media type, body too large,
 * malformed content length) keep their status in the catalogue's shape; anything else is an
 * InternalError whose cause the caller logs but never sends.
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
  return toServiceError(err);
}
