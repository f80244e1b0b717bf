import type { Kysely } from 'kysely';
import { newAccessKeyId, newAccessKeySecret } from './ids.ts';
import type { Database } from './schema.ts';
import { NO_SECRET_BOX, type Sealer } from './secret-box.ts';

export interface AccessKey {
  accessKeyId: string;
  accessKeySecret: string;
}

export interface AccessKeyInfo {
  accessKeyId: string;
  account: string;
  created: string;
}

// Access key secrets are stored sealed (secret-box.ts), bound to their AccessKeyId: the
// database alone cannot give one away, and findKey, which signature checks and the console's
// sign-in use, opens them.

export class AccountsRepo {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly box: Sealer = NO_SECRET_BOX,
  ) {}

  /** Issues a new key pair for the account, creating the account on first use. */
  async createKey(account: string): Promise<AccessKey> {
    const now = new Date().toISOString();
    const key = { accessKeyId: newAccessKeyId(), accessKeySecret: newAccessKeySecret() };
    const sealed = this.box.seal(key.accessKeySecret, key.accessKeyId);
    const write = async (tx: Kysely<Database>) => {
      await tx
        .insertInto('accounts')
        .values({ name: account, created: now })
        .onConflict((oc) => oc.column('name').doNothing())
        .execute();
      await tx
        .insertInto('accessKeys')
        .values({ accessKeyId: key.accessKeyId, accessKeySecret: sealed, account, created: now })
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
    return row ? { secret: this.box.open(row.accessKeySecret, accessKeyId), account: row.account } : null;
  }

  /** the keys (never their secrets), oldest first; one account's when named */
  async listKeys(account?: string): Promise<AccessKeyInfo[]> {
    let q = this.db.selectFrom('accessKeys').select(['accessKeyId', 'account', 'created']);
    if (account !== undefined) q = q.where('account', '=', account);
    return q.orderBy('created').orderBy('accessKeyId').execute();
  }

  /** false when there is no such key */
  async deleteKey(accessKeyId: string): Promise<boolean> {
    const r = await this.db.deleteFrom('accessKeys').where('accessKeyId', '=', accessKeyId).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
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
