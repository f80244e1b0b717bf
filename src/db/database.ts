import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { CamelCasePlugin, Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { AccountsRepo } from './accounts-repo.ts';
import { BackupFilesRepo } from './backup-files-repo.ts';
import { ClientTokensRepo } from './client-tokens-repo.ts';
import { InstancesRepo } from './instances-repo.ts';
import { migrations } from './migrations.ts';
import { NoncesRepo } from './nonces-repo.ts';
import type { Database } from './schema.ts';
import { SEAL_SECRETS_MIGRATION, sealSecrets } from './seal-secrets-migration.ts';
import { NO_SECRET_BOX, type Sealer, SecretBox, type SecretKeySource } from './secret-box.ts';
import { keepStatistics, withStatementCache } from './sqlite-tuning.ts';
import { SuspensionsRepo } from './suspensions-repo.ts';
import { TasksRepo } from './tasks-repo.ts';

export interface Repositories {
  kysely: Kysely<Database>;
  accounts: AccountsRepo;
  nonces: NoncesRepo;
  instances: InstancesRepo;
  backupFiles: BackupFilesRepo;
  tasks: TasksRepo;
  suspensions: SuspensionsRepo;
  clientTokens: ClientTokensRepo;
}

export interface Db extends Repositories {
  dialect: 'sqlite' | 'postgres';
  /** what seals the access key secrets, and where its key lives */
  secrets: Sealer;
  /** Runs fn with repositories bound to one transaction (committed when fn resolves). */
  transaction<T>(fn: (tx: Repositories) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  dataDir: string;
  /** postgres://…; without it, SQLite at <dataDir>/metadata.db */
  databaseUrl?: string;
  /** the key that seals access key secrets: given (base64), or a key file (default <dataDir>/secret.key) */
  secrets?: { key?: string; keyFile?: string };
}

/** the database options a config names (one place, for the service and the CLI) */
export function databaseOptions(config: {
  dataDir: string;
  databaseUrl?: string;
  secrets: { key?: string; keyFile?: string };
}): OpenDatabaseOptions {
  return { dataDir: config.dataDir, databaseUrl: config.databaseUrl, secrets: { ...config.secrets } };
}

const INT8_OID = 20;

/** repositories bound to a connection or a transaction (without `secrets`, access keys cannot be made or read) */
export function repositories(kysely: Kysely<Database>, secrets: Sealer = NO_SECRET_BOX): Repositories {
  return {
    kysely,
    accounts: new AccountsRepo(kysely, secrets),
    nonces: new NoncesRepo(kysely),
    instances: new InstancesRepo(kysely),
    backupFiles: new BackupFilesRepo(kysely),
    tasks: new TasksRepo(kysely),
    suspensions: new SuspensionsRepo(kysely),
    clientTokens: new ClientTokensRepo(kysely),
  };
}

// The data dir and the database files are the owner's only: they hold the phones' addresses and
// the sealed access keys (docs/security.md). SQLite gives its -wal and -shm the main file's mode.
const DB_FILES = ['metadata.db', 'metadata.db-wal', 'metadata.db-shm'];

function ownerOnly(dataDir: string): void {
  for (const name of DB_FILES) {
    const path = join(dataDir, name);
    if (name === 'metadata.db') closeSync(openSync(path, 'a', 0o600));
    if (existsSync(path)) chmodSync(path, 0o600);
  }
}

function sqliteKysely(dataDir: string): Kysely<Database> {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  ownerOnly(dataDir);
  const file = new SQLite(join(dataDir, 'metadata.db'));
  // WAL lets readers proceed during a write; busy_timeout makes a second process (the CLI
  // next to a running server) wait for the write lock instead of failing at once.
  file.pragma('journal_mode = WAL');
  file.pragma('busy_timeout = 5000');
  file.pragma('synchronous = NORMAL');
  file.pragma('foreign_keys = ON');
  return new Kysely<Database>({
    dialect: new SqliteDialect({ database: withStatementCache(file) }),
    plugins: [new CamelCasePlugin()],
  });
}

function postgresKysely(url: string): Kysely<Database> {
  const pool = new pg.Pool({
    connectionString: url,
    max: 10,
    // bigint columns (sizes, byte counters, COUNT(*)) as numbers: they stay far below 2^53
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID && format !== 'binary'
          ? Number
          : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  // an idle connection the server closed (restart, failover) must not crash the process: the
  // pool drops it and the next query opens a new one
  pool.on('error', () => {});
  // that listener is only on idle clients: a checked-out one whose server ends the connection
  // between two queries (inside a transaction, at a restart's "terminating connection due to
  // administrator command") emits 'error' to no one, which kills the process. Heard here, the
  // client turns unqueryable: its next query fails at once and the pool drops it on release.
  pool.on('connect', (client) => client.on('error', () => {}));
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }), plugins: [new CamelCasePlugin()] });
}

async function migrate(kysely: Kysely<Database>, isPostgres: boolean, secrets: Sealer): Promise<void> {
  // Kysely looks for its bookkeeping tables in every schema unless told which one: name ours,
  // or another schema's tables (another app, another tenant) would be taken for ours.
  let migrationTableSchema: string | undefined;
  if (isPostgres) {
    const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(kysely);
    migrationTableSchema = rows[0]?.schema ?? undefined;
    if (!migrationTableSchema) throw new Error('PostgreSQL search_path names no existing schema to keep tables in');
  }
  // 0006 shipped before 0005 (they were planned together): a database that ran 0006 must still
  // get 0005, which Kysely refuses unless unordered migrations are allowed. Each is independent.
  const provider = {
    getMigrations: async () => ({
      ...(await migrations.getMigrations()),
      [SEAL_SECRETS_MIGRATION]: sealSecrets(secrets, isPostgres ? 'postgres' : 'sqlite'),
    }),
  };
  const migrator = new Migrator({
    db: kysely,
    provider,
    migrationTableSchema,
    allowUnorderedMigrations: true,
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error;
  // a secret sealed in place leaves its plain page in the WAL's predecessor until a checkpoint
  if (!isPostgres && results?.some((r) => r.migrationName === SEAL_SECRETS_MIGRATION)) {
    await sql`pragma wal_checkpoint(TRUNCATE)`.execute(kysely);
  }
}

/** Opens the metadata database (SQLite by default, PostgreSQL for a postgres:// URL) and migrates it. */
export async function openDatabase(opts: OpenDatabaseOptions): Promise<Db> {
  const url = opts.databaseUrl;
  const isPostgres = !!url && /^postgres(ql)?:\/\//.test(url);
  if (url && !isPostgres) throw new Error(`Unsupported database URL (expected postgres://…): ${url.split('@').pop()}`);
  const kysely = isPostgres && url ? postgresKysely(url) : sqliteKysely(opts.dataDir);
  const secrets: SecretKeySource = {
    key: opts.secrets?.key,
    keyFile: opts.secrets?.keyFile ?? join(opts.dataDir, 'secret.key'),
  };
  const box = new SecretBox(secrets);
  let optimizer: NodeJS.Timeout | undefined;
  try {
    await migrate(kysely, isPostgres, box);
    if (!isPostgres) optimizer = await keepStatistics(kysely);
  } catch (err) {
    await kysely.destroy();
    throw err;
  }
  return {
    ...repositories(kysely, box),
    dialect: isPostgres ? 'postgres' : 'sqlite',
    secrets: box,
    transaction: (fn) => kysely.transaction().execute((tx) => fn(repositories(tx, box))),
    close: () => {
      clearInterval(optimizer);
      return kysely.destroy();
    },
  };
}
