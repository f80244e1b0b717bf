import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';

/** how often remember() also deletes expired nonces (they only take room: see remember) */
const PURGE_EVERY_MS = 5_000;

export class NoncesRepo {
  #purgedAt = 0;

  constructor(private readonly db: Kysely<Database>) {}

  /**
   * Records a signature nonce; false when it was already seen and has not expired. One statement
   * per signed request: a row whose nonce expired is taken over in place (the upsert's WHERE), so
   * a stale row never refuses a nonce, and the purge of expired rows, which every request used to
   * run first (one more statement, one more round trip to PostgreSQL), runs every few seconds.
   * Two requests racing with one nonce still get one true: the second meets the first's row,
   * which has not expired.
   */
  async remember(nonce: string, expiresAt: Date): Promise<boolean> {
    const now = new Date().toISOString();
    if (Date.now() - this.#purgedAt >= PURGE_EVERY_MS) {
      this.#purgedAt = Date.now();
      await this.db.deleteFrom('nonces').where('expiresAt', '<', now).execute();
    }
    const res = await this.db
      .insertInto('nonces')
      .values({ nonce, expiresAt: expiresAt.toISOString() })
      .onConflict((oc) =>
        oc
          .column('nonce')
          .doUpdateSet((eb) => ({ expiresAt: eb.ref('excluded.expiresAt') }))
          .where('nonces.expiresAt', '<', now),
      )
      .executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0n) === 1;
  }
}
