import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { ConnectionError } from 'fastify';
import type { Logger } from 'pino';
import { ERRORS, type ServiceError } from '../errors.ts';
import { rawErrorResponse } from './error-envelope.ts';

// Requests Node's HTTP parser refuses never reach Fastify's routes or error handler: an oversized
// head (request line and headers), a malformed request line, a bad Content-Length or chunk, a
// timeout. Fastify's default answer is its own JSON without `Connection: close`, and it destroys
// the socket at once, so a keep-alive client sends its next request on a dead connection. Here
// they get the API's envelope, `Connection: close`, and a graceful close.

/** How long a connection may stay half-closed after the answer before it is destroyed. */
const LINGER_MS = 2000;

export interface ClientErrorDeps {
  logger: Logger;
  /** the `HostId` of the envelope; defaults to the address the client connected to */
  hostId?: string;
  /** the head limit the server was given, for the message */
  maxHeaderSize: number;
  /** called once per answered error, for metrics */
  observe?: (code: string) => void;
}

export function serviceErrorOf(err: ConnectionError, maxHeaderSize: number): ServiceError {
  if (err.code === 'HPE_HEADER_OVERFLOW') return ERRORS.headersTooLarge(maxHeaderSize);
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return ERRORS.requestTimeout();
  // llhttp's reason is a fixed phrase ("Invalid method encountered"); it never echoes the input
  const reason = (err as { reason?: unknown }).reason;
  return ERRORS.badRequest(typeof reason === 'string' && reason ? reason : 'the HTTP request cannot be parsed');
}

export function clientErrorHandler(deps: ClientErrorDeps): (err: ConnectionError, socket: Socket) => void {
  // The parser stays in its error state: more bytes on the socket raise the same error again.
  const answered = new WeakSet<Socket>();
  return (err, socket) => {
    if (answered.has(socket)) return;
    answered.add(socket);
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    const error = serviceErrorOf(err, deps.maxHeaderSize);
    const requestId = randomUUID().toUpperCase();
    deps.logger.info({ RequestId: requestId, Code: error.code, reason: err.code }, 'client error');
    deps.observe?.(error.code);
    const answer = () => {
      if (socket.writable) socket.write(rawErrorResponse(error, requestId, deps.hostId ?? hostOf(socket)));
      // FIN after the answer; whatever the client still sends is read and dropped until it closes too
      socket.end();
      socket.resume();
      setTimeout(() => socket.destroy(), LINGER_MS).unref();
    };
    // A pipelined request before this one may still be answering: ours must come after it, whole.
    const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
    if (inFlight && !inFlight.writableFinished) {
      inFlight.once('finish', answer);
      inFlight.once('close', () => setTimeout(() => socket.destroy(), LINGER_MS).unref());
    } else {
      answer();
    }
  };
}

function hostOf(socket: Socket): string {
  const address = socket.localAddress ?? '';
  return `${address.includes(':') ? `[${address}]` : address}:${socket.localPort ?? ''}`;
}
