import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { type Db, openDatabase } from './database.ts';
import { newId } from './ids.ts';

// For test suites (ours and the API's): a fresh, migrated database on either backend, so the
// same suite runs against SQLite and PostgreSQL. PostgreSQL gets a schema of its own per call,
// dropped by dispose(); point TEST_DATABASE_URL elsewhere than 127.0.0.1:5432/test if needed.

export type Backend = 'sqlite' | 'postgres';
export const BACKENDS: readonly Backend[] = ['sqlite', 'postgres'];

const PG_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestDatabase {
  db: Db;
  /** opens another connection (pool) to the same database, e.g. for a second runner */
  openAnother(): Promise<Db>;
  dispose(): Promise<void>;
}

async function adminQuery(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

export async function openTestDatabase(backend: Backend): Promise<TestDatabase> {
  const dataDir = mkdtempSync(join(tmpdir(), 'cpb-db-'));
  const opened: Db[] = [];
  let databaseUrl: string | undefined;
  let schema: string | undefined;
  if (backend === 'postgres') {
    schema = newId('t').replace('-', '_');
    await adminQuery(`create schema ${schema}`);
    const url = new URL(PG_URL);
    url.searchParams.set('options', `-c search_path=${schema}`);
    databaseUrl = url.toString();
  }
  const open = async () => {
    const db = await openDatabase({ dataDir, databaseUrl });
    opened.push(db);
    return db;
  };
  return {
    db: await open(),
    openAnother: open,
    async dispose() {
      await Promise.all(opened.map((db) => db.close()));
      if (schema) await adminQuery(`drop schema ${schema} cascade`);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
