import type { Kysely } from 'kysely';
import { newAccessKeyId, newAccessKeySecret } from './ids.ts';
import type { Database } from './schema.ts';

export interface AccessKey {
  accessKeyId: string;
  accessKeySecret: string;
}

export class AccountsRepo {
  constructor(private readonly db: Kysely<Database>) {}

  /** Issues a new key pair for the account, creating the account on first use. */
  async createKey(account: string): Promise<AccessKey> {
    const now = new Date().toISOString();
    const key = { accessKeyId: newAccessKeyId(), accessKeySecret: newAccessKeySecret() };
    const write = async (tx: Kysely<Database>) => {
      await tx
        .insertInto('accounts')
        .values({ name: account, created: now })
        .onConflict((oc) => oc.column('name').doNothing())
        .execute();
      await tx
        .insertInto('accessKeys')
        .values({ ...key, account, created: now })
        .execute();
    };
    await (this.db.isTransaction ? write(this.db) : this.db.transaction().execute(write));
    return key;
  }

  async findKey(accessKeyId: string): Promise<{ secret: string; account: string } | null> {
    const row = await this.db
      .selectFrom('accessKeys')
      .select(['accessKeySecret', 'account'])
      .where('accessKeyId', '=', accessKeyId)
      .executeTakeFirst();
    return row ? { secret: row.accessKeySecret, account: row.account } : null;
  }

  /** Makes sure the account row exists (instances, files and tasks reference it). */
  async ensure(account: string): Promise<void> {
    await this.db
      .insertInto('accounts')
      .values({ name: account, created: new Date().toISOString() })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
  }
}
