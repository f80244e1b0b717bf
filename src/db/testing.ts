import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { type Db, openDatabase } from './database.ts';
import { newId } from './ids.ts';

// For test suites (ours and the API's): a fresh, migrated database on either backend, so the
// same suite runs against SQLite and PostgreSQL. PostgreSQL gets a database of its own per call
// (a schema would not do: Kysely's migrator reads the whole catalog, which fails while a parallel
// test drops its schema), dropped by dispose(). TEST_DATABASE_URL names the server to use.

export type Backend = 'sqlite' | 'postgres';
export const BACKENDS: readonly Backend[] = ['sqlite', 'postgres'];

const PG_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestDatabase {
  db: Db;
  /** another pool on PostgreSQL, e.g. for a second runner; on SQLite a second connection, which
   * must not be used alongside the first in one process (better-sqlite3 waits synchronously) */
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
  let database: string | undefined;
  if (backend === 'postgres') {
    database = `cpb_test_${newId('t').slice(2)}`;
    await adminQuery(`create database ${database}`);
    const url = new URL(PG_URL);
    url.pathname = `/${database}`;
    databaseUrl = url.toString();
  }
  const open = async () => {
    const db = await openDatabase({ dataDir, databaseUrl });
    opened.push(db);
    return db;
  };
  const dispose = async () => {
    await Promise.all(opened.map((db) => db.close()));
    if (database) await adminQuery(`drop database ${database} with (force)`);
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    return { db: await open(), openAnother: open, dispose };
  } catch (err) {
    await dispose();
    throw err;
  }
}
