import type SQLite from 'better-sqlite3';
import { type Kysely, type SqliteDatabase, sql } from 'kysely';
import type { Database } from './schema.ts';

// What the SQLite backend needs beyond its pragmas to answer DescribeTasks and the signature
// checks quickly on a large database (bench/describe-tasks.ts measured both).

/** prepared statements kept, per connection; SQL texts differ only by list lengths, so few */
const MAX_STATEMENTS = 500;

/**
 * The connection as Kysely sees it, with each SQL text prepared once: Kysely prepares every query
 * anew, and preparing DescribeTasks' page query (two correlated sums) took 78 µs, longer than
 * running it. Safe to share because better-sqlite3 runs a statement to its end before returning;
 * only an open `iterate()` (Kysely's .stream(), which nothing here uses) would hold one busy.
 */
export function withStatementCache(file: SQLite.Database): SqliteDatabase {
  const statements = new Map<string, SQLite.Statement>();
  return {
    close: () => void file.close(),
    prepare(text: string) {
      let statement = statements.get(text);
      if (!statement) {
        statement = file.prepare(text);
        if (statements.size >= MAX_STATEMENTS) statements.delete(statements.keys().next().value as string);
        statements.set(text, statement);
      }
      return statement;
    },
  };
}

/**
 * SQLite gathers no statistics unless told to (PostgreSQL's autovacuum analyzes on its own), and
 * without them its planner cannot tell a selective index from an unselective one: DescribeTasks
 * by TaskIds or ParentTaskId walked every task of the account through (account, created) instead
 * of the primary key or the parent index (35 ms instead of 0.03 ms at 100,000 tasks). SQLite's advice
 * for long-lived connections: `optimize=0x10002` on open, plain `optimize` every hour or so
 * (https://sqlite.org/pragma.html#pragma_optimize); both analyze only tables that changed a lot
 * since, under a bounded analysis_limit, so they stay quick on a large database.
 */
export async function keepStatistics(kysely: Kysely<Database>): Promise<NodeJS.Timeout> {
  await sql`pragma optimize=0x10002`.execute(kysely);
  const timer = setInterval(() => void sql`pragma optimize`.execute(kysely).catch(() => {}), 3_600_000);
  return timer.unref();
}
