import { type Kysely, type Migration, sql } from 'kysely';
import { isSealed, type Sealer } from './secret-box.ts';

// 0009: access key secrets written in plain text by earlier versions are sealed in place
// (secret-box.ts). It needs the key, so it is built by openDatabase rather than listed with the
// schema migrations. On SQLite, secure_delete makes the rewrite zero the old cells instead of
// leaving the plain text in free space, and openDatabase checkpoints the WAL afterwards, so the
// file holds no trace of it. PostgreSQL keeps dead row versions until VACUUM (docs/security.md).

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the current schema types
type AnyDb = Kysely<any>;

export const SEAL_SECRETS_MIGRATION = '0009_sealed_secrets';

export function sealSecrets(box: Sealer, dialect: 'sqlite' | 'postgres'): Migration {
  return {
    async up(db: AnyDb) {
      // the connection's CamelCasePlugin maps these names to access_keys.access_key_id …
      const rows: Array<{ accessKeyId: string; accessKeySecret: string }> = await db
        .selectFrom('accessKeys')
        .select(['accessKeyId', 'accessKeySecret'])
        .execute();
      const plain = rows.filter((r) => !isSealed(r.accessKeySecret));
      if (!plain.length) return;
      if (dialect === 'sqlite') await sql`pragma secure_delete = on`.execute(db);
      for (const r of plain) {
        await db
          .updateTable('accessKeys')
          .set({ accessKeySecret: box.seal(r.accessKeySecret, r.accessKeyId) })
          .where('accessKeyId', '=', r.accessKeyId)
          .execute();
      }
      if (dialect === 'sqlite') await sql`pragma secure_delete = off`.execute(db);
    },
  };
}
