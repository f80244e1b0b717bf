import { createHash } from 'node:crypto';
import type { Db, Repositories } from '../db/database.ts';
import { ERRORS } from '../errors.ts';
import { type ActionContext, param, type ResponseBody } from './action.ts';

// Idempotent submission for task-creating actions. Alibaba's idempotency pages (ECS
// how-to-ensure-idempotence, VPC doc-detail/36569, ROS doc-detail/134212; docs/api-models.md
// "ClientToken") say: a client-made, case-sensitive token; a retry after a success returns the
// original result with no further effect; a retry after a 4xx fails again (so a refused call
// stores nothing); the same token with other parameters is IdempotentParameterMismatch.
// eds-aic's SDK bounds it at 100 characters. How long a token lasts is not documented: 24 h.
//
// An action adopts it with its parameter and one wrapper round its handler:
//   params: { …, ClientToken: CLIENT_TOKEN },
//   handle: (p, ctx) => idempotent(deps.db, ctx, 'BackupFile', p, async (seal) => {
//     … checks, then inside the transaction that creates the tasks: await seal(tx, responseBody);
//   }),
// The answer is what was sealed. The record is written in that transaction, so two calls racing
// with one token commit work once: the loser's transaction is rolled back and it answers with the
// winner's record.

/** How long a token is remembered. */
export const CLIENT_TOKEN_TTL_MS = 24 * 60 * 60 * 1000;

export const CLIENT_TOKEN = param.string({
  maxLength: 100,
  check: (v: string) => (/^[\x20-\x7e]+$/.test(v) ? null : 'a client token is made of printable ASCII characters'),
});

/** Records the response in the transaction `tx` that creates the call's work (rolled back if the token is taken). */
export type Seal = (tx: Repositories, body: ResponseBody) => Promise<void>;

class TokenTaken extends Error {}

export async function idempotent(
  db: Db,
  ctx: ActionContext,
  action: string,
  params: Readonly<Record<string, unknown>> & { ClientToken?: string },
  create: (seal: Seal) => Promise<void>,
): Promise<ResponseBody> {
  let sealed: ResponseBody | undefined;
  const token = params.ClientToken;
  if (token === undefined) {
    await create(async (_tx, body) => {
      sealed = body;
    });
    return mustBeSealed(action, sealed);
  }
  const { ClientToken: _, ...rest } = params;
  const paramsSha256 = createHash('sha256')
    .update(JSON.stringify(canonical(rest)))
    .digest('hex');
  const now = new Date();
  const since = new Date(now.getTime() - CLIENT_TOKEN_TTL_MS);
  await db.clientTokens.purge(since);
  const replay = async () => {
    const first = await db.clientTokens.find(ctx.account, action, token, since);
    // a record just seen cannot be purged within 24 h: missing means the winner rolled back too
    if (!first) return null;
    if (first.paramsSha256 !== paramsSha256) throw ERRORS.idempotentParameterMismatch(action);
    ctx.log.info({ ClientToken: token, FirstRequestId: first.requestId }, 'repeated ClientToken: the first answer');
    return first.response as ResponseBody;
  };
  const earlier = await replay();
  if (earlier) return earlier;
  try {
    await create(async (tx, body) => {
      const record = { account: ctx.account, action, token, paramsSha256, response: body, requestId: ctx.requestId };
      if (!(await tx.clientTokens.claim({ ...record, created: now.toISOString() }, since))) throw new TokenTaken();
      sealed = body;
    });
  } catch (err) {
    if (!(err instanceof TokenTaken)) throw err;
    const first = await replay();
    if (first) return first;
    throw ERRORS.serviceUnavailable('a concurrent request with the same ClientToken did not complete; retry');
  }
  return mustBeSealed(action, sealed);
}

function mustBeSealed(action: string, body: ResponseBody | undefined): ResponseBody {
  if (!body) throw new Error(`${action} created its work without sealing its response`);
  return body;
}

/** Key order fixed at every level, so the same parameters always hash alike. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value instanceof Date) return value.toISOString();
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value).filter(([, v]) => v !== undefined);
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(entries.map(([k, v]) => [k, canonical(v)]));
}
