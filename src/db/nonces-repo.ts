import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';

export class NoncesRepo {
  constructor(private readonly db: Kysely<Database>) {}

  /** Records a signature nonce; false when it was already seen and has not expired. */
  async remember(nonce: string, expiresAt: Date): Promise<boolean> {
    await this.db.deleteFrom('nonces').where('expiresAt', '<', new Date().toISOString()).execute();
    const res = await this.db
      .insertInto('nonces')
      .values({ nonce, expiresAt: expiresAt.toISOString() })
      .onConflict((oc) => oc.column('nonce').doNothing())
      .executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0n) === 1;
  }
}
