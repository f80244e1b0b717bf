import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { CamelCasePlugin, Kysely, type Migration, Migrator, SqliteDialect } from 'kysely';
import { afterAll, expect, it } from 'vitest';
import { openDatabase } from '../src/db/database.ts';
import { migrations } from '../src/db/migrations.ts';

// 0006_client_tokens shipped before 0005_file_backups: a database migrated in between (0006 run,
// 0005 not) must still open and get 0005, and its backup files read with no source paths.

const dir = mkdtempSync(join(tmpdir(), 'cpb-migrate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('runs 0005_file_backups on a database that already ran 0006_client_tokens', async () => {
  const all = await migrations.getMigrations();
  const without: Record<string, Migration> = Object.fromEntries(
    Object.entries(all).filter(([name]) => name !== '0005_file_backups'),
  );
  const early = new Kysely({
    dialect: new SqliteDialect({ database: new SQLite(join(dir, 'metadata.db')) }),
    plugins: [new CamelCasePlugin()],
  });
  const first = await new Migrator({ db: early, provider: { getMigrations: async () => without } }).migrateToLatest();
  expect(first.error).toBeUndefined();
  await early.destroy();
  const db = await openDatabase({ dataDir: dir });
  try {
    const file = await db.backupFiles.create({
      account: 'a',
      instanceId: 'acp-1',
      instanceName: 'one',
      name: 'n',
      description: '',
      path: 'oss://b/',
      endpoint: 'e',
      bucket: 'bbb',
      objectKey: 'k',
      apps: ['com.example.notes'],
    });
    expect((await db.backupFiles.get('a', file.id))?.paths).toEqual([]);
  } finally {
    await db.close();
  }
});
