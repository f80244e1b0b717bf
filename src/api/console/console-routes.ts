import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { RestoreVerdicts } from '../../backup/restore-verdict.ts';
import { ERRORS } from '../../errors.ts';
import type { ActionDefinition } from '../action.ts';
import type { CredentialLookup } from '../auth/ports.ts';
import { INSTANCE_ID, RESOURCE_ID } from '../format.ts';
import { decodeParams } from '../params/decode.ts';
import { param } from '../params/spec.ts';
import { findAssetsDir, serveAssets } from './assets.ts';
import { flattenParams } from './flatten-params.ts';
import {
  assertSameOrigin,
  clearedCookie,
  cookieToken,
  principalOf,
  sameSecret,
  sessionCookie,
} from './session-guard.ts';
import type { SessionStore } from './sessions.ts';

// The web console's routes under /console: its page and assets, sign-in and sign-out, and one
// JSON endpoint that runs any API action with the session's account, through the action's own
// handler, parameter spec and error catalogue. Errors are rendered by the API's error handler.

export interface ConsoleDeps {
  actions: ReadonlyMap<string, ActionDefinition>;
  credentials: CredentialLookup;
  sessions: SessionStore;
  /** the restore compatibility verdicts of src/backup/restore-verdict.ts */
  verdicts: (account: string, backupFileId: string, instanceIds: string[]) => Promise<RestoreVerdicts>;
  logger: Logger;
  /** marks a request as a call of `action`, for the API's access log and metrics */
  observe: (request: FastifyRequest, action: string, accessKeyId?: string) => void;
  /** aborted when the browser goes away before the answer is sent */
  signalOf: (reply: FastifyReply) => AbortSignal;
  /** the built page assets; found beside the bundle when not given */
  assetsDir?: string;
}

const SIGN_IN = {
  AccessKeyId: param.string({ required: true, maxLength: 128 }),
  AccessKeySecret: param.string({ required: true, maxLength: 256 }),
};
const VERDICTS = {
  BackupFileId: param.string({ required: true, pattern: RESOURCE_ID }),
  AndroidInstanceIdList: param.stringList({ required: true }, { pattern: INSTANCE_ID }),
};

export async function consoleRoutes(app: FastifyInstance, deps: ConsoleDeps): Promise<void> {
  app.addContentTypeParser('application/json', { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'));
  // a cross-site form can send only form, multipart or text bodies: requiring JSON is one more CSRF barrier
  app.addHook('preValidation', async (request) => {
    const type = request.headers['content-type'] ?? '';
    if (request.method === 'POST' && !/^application\/json\s*(;|$)/i.test(type)) throw ERRORS.unsupportedMediaType(type);
  });
  serveAssets(app, deps.assetsDir ?? findAssetsDir());
  const { sessions } = deps;
  const sessionBody = (request: FastifyRequest, s: { account: string; accessKeyId: string; csrf: string }) => ({
    RequestId: request.id,
    Account: s.account,
    AccessKeyId: s.accessKeyId,
    CsrfToken: s.csrf,
    IdleTimeoutSeconds: Math.floor(sessions.limits.idleMs / 1000),
  });

  app.post('/console/api/session', async (request, reply) => {
    assertSameOrigin(request);
    deps.observe(request, 'ConsoleSignIn');
    const p = decodeParams(SIGN_IN, flattenParams(request.body));
    const key = await deps.credentials.find(p.AccessKeyId);
    // an unknown key and a wrong secret get the same answer; the secret is compared in constant time
    if (!sameSecret(p.AccessKeySecret, key?.secret ?? '') || !key) throw ERRORS.consoleSignInRefused();
    deps.observe(request, 'ConsoleSignIn', p.AccessKeyId);
    const { token, session } = sessions.create(key.account, p.AccessKeyId);
    reply.header('set-cookie', sessionCookie(request, token, sessions.limits.maxMs));
    return sessionBody(request, session);
  });

  // the page asks this after a reload: it answers the CSRF token, so it is the one call that needs none
  app.get('/console/api/session', async (request) => {
    const principal = await principalOf(request, sessions, deps.credentials, { csrf: false });
    return sessionBody(request, principal.session);
  });

  app.delete('/console/api/session', async (request, reply) => {
    await principalOf(request, sessions, deps.credentials);
    const token = cookieToken(request.headers.cookie);
    if (token) sessions.delete(token);
    reply.header('set-cookie', clearedCookie(request));
    return { RequestId: request.id };
  });

  app.post<{ Params: { action: string } }>('/console/api/actions/:action', async (request, reply) => {
    const principal = await principalOf(request, sessions, deps.credentials);
    const action = deps.actions.get(request.params.action);
    deps.observe(request, action?.name ?? 'Unknown', principal.accessKeyId);
    if (!action) throw ERRORS.actionNotFound();
    const decoded = decodeParams(action.params, flattenParams(request.body ?? {}));
    const result = await action.handle(decoded, {
      requestId: request.id,
      account: principal.account,
      accessKeyId: principal.accessKeyId,
      log: deps.logger.child({ RequestId: request.id, Action: action.name, AccessKeyId: principal.accessKeyId }),
      signal: deps.signalOf(reply),
    });
    return { RequestId: request.id, ...result };
  });

  app.post('/console/api/restore-verdicts', async (request) => {
    const principal = await principalOf(request, sessions, deps.credentials);
    deps.observe(request, 'ConsoleRestoreVerdicts', principal.accessKeyId);
    const p = decodeParams(VERDICTS, flattenParams(request.body));
    const verdicts = await deps.verdicts(principal.account, p.BackupFileId, p.AndroidInstanceIdList);
    return { RequestId: request.id, ...verdicts };
  });
}
