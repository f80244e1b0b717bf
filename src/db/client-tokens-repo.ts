import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';

// ClientToken records (src/api/client-token.ts): what the first call with a token answered, so a
// retry with the same token gets that answer instead of new work. The primary key
// (account, action, token) is what makes concurrent duplicates create work once: the record is
// inserted in the transaction that creates the tasks, and only one such insert can win.

export interface ClientTokenRecord {
  account: string;
  action: string;
  /** case-sensitive, as sent */
  token: string;
  /** SHA-256 of the call's other parameters (canonical JSON), to refuse a reuse with different ones */
  paramsSha256: string;
  /** the first call's response body (without RequestId) */
  response: Record<string, unknown>;
  /** the first call's RequestId (its tasks' InvokeId) */
  requestId: string;
  created: string;
}

export class ClientTokensRepo {
  constructor(private readonly db: Kysely<Database>) {}

  /** The record of a token created at or after `since` (older ones are forgotten), or null. */
  async find(account: string, action: string, token: string, since: Date): Promise<ClientTokenRecord | null> {
    const r = await this.db
      .selectFrom('clientTokens')
      .selectAll()
      .where('account', '=', account)
      .where('action', '=', action)
      .where('token', '=', token)
      .where('created', '>=', since.toISOString())
      .executeTakeFirst();
    return r ? { ...r, response: JSON.parse(r.response) as Record<string, unknown> } : null;
  }

  /**
   * Stores a token with its response; false when a record created at or after `since` holds it
   * already. An older record of the same token (expired, not yet purged) is replaced. On
   * PostgreSQL an insert racing an uncommitted one waits for it, then sees its row.
   */
  async claim(record: ClientTokenRecord, since: Date): Promise<boolean> {
    const values = { ...record, response: JSON.stringify(record.response) };
    const { account: _a, action: _b, token: _c, ...replaced } = values;
    const res = await this.db
      .insertInto('clientTokens')
      .values(values)
      .onConflict((oc) =>
        oc
          .columns(['account', 'action', 'token'])
          .doUpdateSet(replaced)
          .where('clientTokens.created', '<', since.toISOString()),
      )
      .executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0n) === 1;
  }

  /** Forgets the tokens created before `before`; returns how many. */
  async purge(before: Date): Promise<number> {
    const res = await this.db.deleteFrom('clientTokens').where('created', '<', before.toISOString()).executeTakeFirst();
    return Number(res.numDeletedRows);
  }
}
