import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ConnectionError, FastifyHttpOptions, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { ERRORS, type ServiceError } from '../errors.ts';
import { rawErrorResponse } from './error-envelope.ts';

// The HTTP edge below the routes. What Node's parser refuses never reaches Fastify's routes or
// error handler: an oversized head (request line and headers), a malformed request line, a bad
// Content-Length, chunk or Transfer-Encoding, a timeout. Fastify's default answer is its own JSON
// without `Connection: close`, and it destroys the socket at once, so a keep-alive client sends
// its next request on a dead connection. Here they get the API's envelope, `Connection: close`,
// after any answer still being written on the connection, and a graceful close. So do a CONNECT,
// requests arriving while the server closes, and bodies whose framing cannot be trusted.

/** How long a connection may stay half-closed after the answer before it is destroyed. */
const LINGER_MS = 2000;

export interface TransportDeps {
  logger: Logger;
  /** the `HostId` of the envelope; defaults to the address the client connected to */
  hostId?: string;
  /** the limit on a request's line and headers together */
  maxHeaderSize: number;
  /** how long a client may take to send a whole request, head and body */
  requestTimeoutMs: number;
  /** called once per error answered here, for metrics */
  observe?: (code: string) => void;
}

/** A body refused as too large is still read, and dropped, up to this size and for this long, before the close. */
const DRAIN_LIMIT = 8 * 1024 * 1024;
const DRAIN_TIMEOUT_MS = 30_000;

export function serviceErrorOf(err: ConnectionError, maxHeaderSize: number): ServiceError {
  if (err.code === 'HPE_HEADER_OVERFLOW') return ERRORS.headersTooLarge(maxHeaderSize);
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return ERRORS.requestTimeout();
  // llhttp's reason is a fixed phrase ("Invalid method encountered"); it never echoes the input
  const reason = (err as { reason?: unknown }).reason;
  return ERRORS.badRequest(typeof reason === 'string' && reason ? reason : 'the HTTP request cannot be parsed');
}

interface ConnectionState {
  /** the first bytes of the request being received (until 8 are known), to tell a HEAD from others */
  start: string;
  startOpen: boolean;
  /** the request whose end `start` was last reset after */
  startAfter?: IncomingMessage;
  /** the last request whose head was parsed, and its response */
  request?: IncomingMessage;
  response?: ServerResponse;
  /** responses not yet finished or aborted */
  unfinished: Set<ServerResponse>;
  whenIdle: (() => void)[];
}

/** What the server's connections are doing, as far as an error on one of them needs to know. */
class ConnectionTracker {
  readonly #states = new WeakMap<Duplex, ConnectionState>();
  readonly #bodyErrors = new WeakMap<IncomingMessage, ServiceError>();

  attach(server: Server): void {
    server.on('connection', (socket: Socket) => {
      const state: ConnectionState = { start: '', startOpen: true, unfinished: new Set(), whenIdle: [] };
      this.#states.set(socket, state);
      // prepended, so it sees a chunk before the parser fails on it (this makes Node feed its
      // parser from 'data' events rather than from the socket's handle directly: measured no slower)
      socket.prependListener('data', (chunk: Buffer) => {
        // the parser has not seen this chunk yet: after a complete request, it starts the next one
        // (unless a pipelining client put both in one chunk: then the guess stays the first one's)
        if (state.request?.complete && state.startAfter !== state.request) {
          state.startAfter = state.request;
          state.start = '';
          state.startOpen = true;
        }
        if (!state.startOpen) return;
        state.start = (state.start + chunk.subarray(0, 8).toString('latin1')).replace(/^[\r\n]+/, '').slice(0, 8);
        if (state.start.length >= 8) state.startOpen = false;
      });
    });
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const state = this.#states.get(req.socket);
      if (!state) return;
      state.request = req;
      state.response = res;
      state.unfinished.add(res);
      res.once('close', () => {
        state.unfinished.delete(res);
        if (state.unfinished.size === 0) for (const run of state.whenIdle.splice(0)) run();
      });
    });
  }

  state(socket: Duplex): ConnectionState | undefined {
    return this.#states.get(socket);
  }

  /**
   * Fails the body of `req`: its reader gets `error` now if it reads already, or from
   * {@link bodyError} before it starts (the parser fails in the same tick as the head arrives,
   * before Fastify has set up its body parser).
   */
  failBody(req: IncomingMessage, error: ServiceError): void {
    this.#bodyErrors.set(req, error);
    if (req.listenerCount('error') > 0) req.emit('error', error);
  }

  /** Why the body of `req` cannot be read, if the parser said so; for a preParsing hook. */
  bodyError(req: IncomingMessage): ServiceError | undefined {
    return this.#bodyErrors.get(req);
  }
}

function clientErrorHandler(
  deps: TransportDeps,
  tracker: ConnectionTracker,
): (err: ConnectionError, socket: Socket) => void {
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
    const state = tracker.state(socket);
    const linger = () => setTimeout(() => socket.destroy(), LINGER_MS).unref();
    const { request, response } = state ?? {};
    if (request && response && !request.complete) {
      // The bytes that failed are the body of a request whose head was fine: the app has it and
      // answers it. If it reads the body, its read fails with this error and it answers with the
      // envelope; either way that answer is the last one on this connection.
      if (!response.headersSent) response.setHeader('connection', 'close');
      tracker.failBody(request, error);
      // an answer already sent as keep-alive: the FIN tells the client not to send more here
      const close = () => {
        socket.end();
        linger();
      };
      if (response.writableFinished) close();
      else response.once('close', close);
      return;
    }
    const answer = () => {
      const head = state?.start.startsWith('HEAD ') ?? false;
      if (socket.writable) socket.write(rawErrorResponse(error, requestId, deps.hostId ?? hostOf(socket), { head }));
      // FIN after the answer; whatever the client still sends is read and dropped until it closes too
      socket.end();
      socket.resume();
      linger();
    };
    // a head that could not be parsed: answered after the answers to earlier requests still being written
    if (state && state.unfinished.size > 0) state.whenIdle.push(answer);
    else answer();
  };
}

/**
 * The server's `connect` listener: a CONNECT request is no API call (and this is no proxy). It is
 * answered like any other method the API lacks, then the connection is closed.
 */
function refuseConnect(deps: TransportDeps): (req: IncomingMessage, socket: Duplex) => void {
  return (_req, socket) => {
    const error = ERRORS.actionNotFound();
    const requestId = randomUUID().toUpperCase();
    deps.logger.info({ RequestId: requestId, Code: error.code, method: 'CONNECT' }, 'client error');
    deps.observe?.(error.code);
    socket.end(rawErrorResponse(error, requestId, deps.hostId ?? hostOf(socket as Socket)));
    socket.resume();
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
  };
}

function hostOf(socket: Socket): string {
  const address = socket.localAddress ?? '';
  return `${address.includes(':') ? `[${address}]` : address}:${socket.localPort ?? ''}`;
}

/**
 * Fastify answers a body over the limit before it has all arrived, with `Connection: close`, and
 * Node closes the socket as soon as the answer is out: the close cuts the client's upload short,
 * and it may see a reset instead of the answer. A body of a sensible size is read to its end (and
 * dropped) before the connection closes. It is not kept for another request: a client's next
 * request would often share a packet with the end of this body, and a head that cannot be parsed
 * must be answered knowing where its request began (a HEAD gets no body).
 */
export function drainRefusedBody(request: FastifyRequest, reply: FastifyReply): void {
  const raw = request.raw;
  const declared = Number(request.headers['content-length'] ?? Number.NaN);
  if (raw.complete || declared > DRAIN_LIMIT) return;
  reply.header('connection', 'close');
  const socket = raw.socket;
  // Node calls destroySoon once the answer is written; it waits here until the body has ended
  const destroySoon = socket.destroySoon.bind(socket);
  let bodyEnded = false;
  let closeWanted = false;
  socket.destroySoon = () => {
    closeWanted = true;
    if (bodyEnded) destroySoon();
  };
  const ended = () => {
    bodyEnded = true;
    if (closeWanted) destroySoon();
  };
  raw.once('end', ended);
  raw.once('close', ended);
  let drained = 0;
  raw.on('data', (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > DRAIN_LIMIT) socket.destroy();
  });
  // a client that stops sending does not hold the connection
  setTimeout(() => socket.destroy(), DRAIN_TIMEOUT_MS).unref();
  raw.resume();
}

/**
 * The edge's Fastify options and hooks: `options` go into `Fastify({...})`, `install` runs on the
 * instance right after.
 */
export function transport(deps: TransportDeps) {
  const tracker = new ConnectionTracker();
  const options = {
    // a request still arriving after this is answered 408 (Fastify's default is no limit at all)
    requestTimeout: deps.requestTimeoutMs,
    http: {
      maxHeaderSize: deps.maxHeaderSize,
      headersTimeout: deps.requestTimeoutMs,
      connectionsCheckingInterval: Math.min(30_000, Math.ceil(deps.requestTimeoutMs / 2)),
    },
    clientErrorHandler: clientErrorHandler(deps, tracker),
    // answered by the onRequest hook below, in the envelope
    return503OnClosing: false,
  } satisfies FastifyHttpOptions<Server>;
  const install = (app: FastifyInstance) => {
    tracker.attach(app.server);
    // CONNECT never reaches a route: without a listener Node drops the connection unanswered
    app.server.on('connect', refuseConnect(deps));
    let closing = false;
    app.addHook('preClose', async () => {
      closing = true;
    });
    app.addHook('onRequest', async (request, reply) => {
      // requests still arriving on open connections while the server closes (Fastify marks them Connection: close)
      if (closing) throw ERRORS.serviceUnavailable('the service is shutting down; retry the call');
      // RFC 9112 §6.1: there is no telling where such a body ends; 400 and close
      const te = request.headers['transfer-encoding'];
      if (te !== undefined && !/(?:^|,)[\t ]*chunked[\t ]*$/i.test(te)) {
        reply.header('connection', 'close');
        throw ERRORS.badRequest('a Transfer-Encoding must end with chunked');
      }
    });
    // a body the HTTP parser failed on before the body parser started reading it
    app.addHook('preParsing', async (request) => {
      const failed = tracker.bodyError(request.raw);
      if (failed) throw failed;
    });
  };
  return { options, install };
}
