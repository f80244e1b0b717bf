import { randomUUID } from 'node:crypto';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import type { Logger } from 'pino';
import { ERRORS, type ServiceError } from '../errors.ts';
import type { ActionDefinition } from './action.ts';
import { authenticate } from './auth/authenticate.ts';
import type { CredentialLookup, NonceStore } from './auth/ports.ts';
import { type ConsoleDeps, consoleRoutes } from './console/console-routes.ts';
import { errorEnvelope, toEnvelopeError } from './error-envelope.ts';
import { createApiMetrics } from './metrics.ts';
import { decodeParams } from './params/decode.ts';
import { mergeParams, parsePairs, rawQuery } from './request-params.ts';
import { resolveAction } from './resolve-action.ts';
import { drainRefusedBody, transport } from './transport.ts';

export interface ApiDeps {
  actions: ActionDefinition[];
  credentials: CredentialLookup;
  nonces: NonceStore;
  logger: Logger;
  /** The `HostId` of error bodies; defaults to the request's Host. */
  hostId?: string;
  /** For tests of the timestamp window. */
  now?: () => Date;
  /** How long a client may take to send a whole request, head and body (default 60 s). */
  requestTimeoutMs?: number;
  /** The web console at /console (src/api/console); absent: not served. */
  console?: Pick<ConsoleDeps, 'sessions' | 'verdicts' | 'assetsDir'>;
}

const BODY_LIMIT = 1024 * 1024;
// The generated SDKs put every parameter in the URL, so allow more than Node's 16 KiB of head.
const MAX_HEADER_SIZE = 64 * 1024;

/** What onResponse needs for metrics and the access log; set as soon as it is known. */
interface Outcome {
  action: string;
  code: string;
  accessKeyId?: string;
  /** set for the web console's calls */
  via?: 'console';
}

export function buildApi(deps: ApiDeps): FastifyInstance {
  const actions = new Map(deps.actions.map((a) => [a.name, a]));
  const metrics = createApiMetrics();
  const outcomes = new WeakMap<FastifyRequest, Outcome>();
  const fastifyLogger: FastifyBaseLogger = deps.logger;
  const edge = transport({
    logger: deps.logger,
    hostId: deps.hostId,
    maxHeaderSize: MAX_HEADER_SIZE,
    requestTimeoutMs: deps.requestTimeoutMs ?? 60_000,
    observe: (code) => metrics.observe('Unknown', code, 0),
  });
  const app = Fastify({
    loggerInstance: fastifyLogger,
    // Fastify's own request lines would log the URL, and with it the v1 Signature.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'RequestId' }),
    genReqId: () => randomUUID().toUpperCase(),
    requestIdHeader: false,
    bodyLimit: BODY_LIMIT,
    exposeHeadRoutes: false,
    // oversized or malformed heads, timeouts, closing: in the envelope (src/api/transport.ts)
    ...edge.options,
    // Fastify answers these in its own JSON: in the envelope instead
    frameworkErrors: (err, request, reply) =>
      sendError(
        err.code === 'FST_ERR_BAD_URL'
          ? ERRORS.badRequest('the URL path is not validly percent-encoded')
          : toEnvelopeError(err, { bodyLimit: BODY_LIMIT, contentType: '' }),
        request,
        reply,
      ),
  });
  edge.install(app);
  const hostId = (request: FastifyRequest) => deps.hostId ?? request.host;
  const logOf = (request: FastifyRequest) => deps.logger.child({ RequestId: request.id });

  app.removeAllContentTypeParsers();
  // Kept raw: the V3 signature covers the body's exact bytes.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'buffer' }, (_req, body, done) =>
    done(null, body),
  );

  app.route({
    method: ['GET', 'POST'],
    url: '/',
    handler: async (request, reply) => {
      const outcome: Outcome = { action: 'Unknown', code: 'OK' };
      outcomes.set(request, outcome);
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const query = parsePairs(rawQuery(request.url));
      const params = mergeParams(query, parsePairs(body.toString('utf8')));
      const headers = new Map(Object.entries(request.headers).map(([k, v]) => [k, String(v)]));
      // x-acs-action/-version count only on V3 requests: a v1 signature covers parameters, not headers.
      const action = resolveAction(actions, params, headers.has('authorization') ? headers : new Map());
      outcome.action = action.name;
      const principal = await authenticate(
        { method: request.method, path: '/', query, params, headers, body },
        { credentials: deps.credentials, nonces: deps.nonces, now: deps.now },
      );
      outcome.accessKeyId = principal.accessKeyId;
      const decoded = decodeParams(action.params, params);
      const result = await action.handle(decoded, {
        requestId: request.id,
        account: principal.account,
        accessKeyId: principal.accessKeyId,
        log: logOf(request).child({ Action: action.name, AccessKeyId: principal.accessKeyId }),
        signal: abortOnClose(reply),
      });
      if (Object.hasOwn(result, 'Code')) throw new Error(`${action.name} returned a top-level Code`);
      return { RequestId: request.id, ...result };
    },
  });

  if (deps.console) {
    const observe = (request: FastifyRequest, action: string, accessKeyId?: string) =>
      outcomes.set(request, { action, code: 'OK', accessKeyId, via: 'console' });
    const { credentials, logger } = deps;
    app.register(consoleRoutes, { ...deps.console, actions, credentials, logger, observe, signalOf: abortOnClose });
  }

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/metrics', async (_request, reply) => {
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  const sendError = (err: ServiceError, request: FastifyRequest, reply: FastifyReply) => {
    const outcome = outcomes.get(request) ?? { action: 'Unknown', code: err.code };
    outcome.code = err.code;
    outcomes.set(request, outcome);
    return reply.code(err.httpStatus).send(errorEnvelope(err, request.id, hostId(request)));
  };
  app.setErrorHandler((err, request, reply) => {
    const contentType = request.headers['content-type'] ?? '';
    const serviceError = toEnvelopeError(err, { bodyLimit: BODY_LIMIT, contentType });
    if (serviceError.httpStatus >= 500) logOf(request).error({ err }, 'request failed');
    if (serviceError.code === 'RequestEntityTooLarge') drainRefusedBody(request, reply);
    return sendError(serviceError, request, reply);
  });
  // Other paths and methods: Alibaba's message for this code already says "check your url and method".
  app.setNotFoundHandler((request, reply) => sendError(ERRORS.actionNotFound(), request, reply));

  app.addHook('onResponse', async (request, reply) => {
    const outcome = outcomes.get(request);
    if (!outcome) return; // /healthz and /metrics
    const seconds = reply.elapsedTime / 1000;
    metrics.observe(outcome.action, outcome.code, seconds);
    logOf(request).info(
      {
        Action: outcome.action,
        Code: outcome.code,
        AccessKeyId: outcome.accessKeyId,
        via: outcome.via,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
      },
      'api call',
    );
  });
  return app;
}

/** Aborted when the client disconnects before the response is complete. */
function abortOnClose(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort(new Error('the client closed the connection'));
  });
  return controller.signal;
}
