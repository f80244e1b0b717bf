import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import SQLite from 'better-sqlite3';
import { CamelCasePlugin, Kysely, Migrator, SqliteDialect, sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db/database.ts';
import { migrations } from '../src/db/migrations.ts';
import type { Database } from '../src/db/schema.ts';
import { SecretBox } from '../src/db/secret-box.ts';
import { openTestDatabase } from '../src/db/testing.ts';
import { cliBundle } from './helpers/cli-process.ts';

// Access key secrets are sealed (AES-256-GCM) under a key outside the database, and the
// database files are the owner's only. Before, the secret sat in plain text in a 0644 metadata.db.

const dir = mkdtempSync(join(tmpdir(), 'cpb-secrets-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const mode = (path: string) => statSync(path).mode & 0o777;
const DB_FILES = ['metadata.db', 'metadata.db-wal', 'metadata.db-shm'];
/** every byte SQLite keeps for this database, as latin1 text to search */
const bytesOf = (dataDir: string) =>
  DB_FILES.map((f) => join(dataDir, f))
    .filter(existsSync)
    .map((p) => readFileSync(p).toString('latin1'))
    .join('');

describe('on SQLite', () => {
  it('creates the data dir 0700, the database files and the key file 0600, and never stores the secret', async () => {
    const dataDir = join(dir, 'fresh', 'data');
    const db = await openDatabase({ dataDir });
    const key = await db.accounts.createKey('default');
    for (const f of DB_FILES) expect(mode(join(dataDir, f)), f).toBe(0o600);
    expect(mode(dataDir)).toBe(0o700);
    expect(mode(join(dataDir, 'secret.key'))).toBe(0o600);
    expect(bytesOf(dataDir)).not.toContain(key.accessKeySecret);
    expect(await db.accounts.findKey(key.accessKeyId)).toEqual({ secret: key.accessKeySecret, account: 'default' });
    await db.close();
    expect(bytesOf(dataDir)).not.toContain(key.accessKeySecret);
    expect(mode(join(dataDir, 'metadata.db'))).toBe(0o600);

    // the database copied without its key file opens, but gives no secret away
    const copy = join(dir, 'copy');
    await openDatabase({ dataDir: copy }).then((d) => d.close());
    copyFileSync(join(dataDir, 'metadata.db'), join(copy, 'metadata.db'));
    const stolen = await openDatabase({ dataDir: copy });
    await expect(stolen.accounts.findKey(key.accessKeyId)).rejects.toThrow(/sealed under key [0-9a-f]{8}/);
    await stolen.close();
  });

  it('seals the plain-text secrets an earlier version stored (0009), leaving no trace in the file', async () => {
    const dataDir = join(dir, 'old');
    mkdirSync(dataDir, { recursive: true });
    const early = new Kysely<Database>({
      dialect: new SqliteDialect({ database: new SQLite(join(dataDir, 'metadata.db')) }),
      plugins: [new CamelCasePlugin()],
    });
    await sql`pragma journal_mode = WAL`.execute(early);
    expect((await new Migrator({ db: early, provider: migrations }).migrateToLatest()).error).toBeUndefined();
    const secret = 'PlainSecretFromAnOlderVersion0';
    const now = new Date().toISOString();
    await early.insertInto('accounts').values({ name: 'default', created: now }).execute();
    await early
      .insertInto('accessKeys')
      .values({ accessKeyId: 'LTAIold', accessKeySecret: secret, account: 'default', created: now })
      .execute();
    await early.destroy();
    expect(bytesOf(dataDir)).toContain(secret);

    const db = await openDatabase({ dataDir });
    expect(await db.accounts.findKey('LTAIold')).toEqual({ secret, account: 'default' });
    const row = await db.kysely.selectFrom('accessKeys').select('accessKeySecret').executeTakeFirstOrThrow();
    expect(row.accessKeySecret).toMatch(/^sealed:v1:/);
    expect(bytesOf(dataDir)).not.toContain(secret);
    await db.close();
    expect(bytesOf(dataDir)).not.toContain(secret);
    expect(mode(join(dataDir, 'metadata.db'))).toBe(0o600);
  });

  it('keys create says where the secret lives; keys list shows no secret; keys delete removes a key', async () => {
    const run = promisify(execFile);
    const main = await cliBundle();
    const dataDir = join(dir, 'cli');
    const cli = (...args: string[]) => run(process.execPath, [main, ...args, '--data-dir', dataDir]);
    const created = (await cli('keys', 'create', '--account', 'ops')).stdout;
    expect(created).toContain(`encrypted in the metadata\ndatabase, under the key file ${join(dataDir, 'secret.key')}`);
    expect(created).not.toMatch(/not stored anywhere/);
    const id = /ALIBABA_CLOUD_ACCESS_KEY_ID=(\S+)/.exec(created)?.[1] ?? '';
    const secret = /ALIBABA_CLOUD_ACCESS_KEY_SECRET=(\S+)/.exec(created)?.[1] ?? '';
    const listed = JSON.parse((await cli('keys', 'list', '--json')).stdout);
    expect(listed).toEqual([{ AccessKeyId: id, Account: 'ops', Created: expect.any(String) }]);
    expect((await cli('keys', 'list')).stdout).not.toContain(secret);
    expect((await cli('keys', 'delete', id)).stdout).toBe(`deleted ${id}\n`);
    expect(JSON.parse((await cli('keys', 'list', '--json')).stdout)).toEqual([]);
    await expect(cli('keys', 'delete', id)).rejects.toMatchObject({
      code: 1,
      stderr: `cloudphone-backup: no such key: ${id}\n`,
    });
  });
});

describe('on PostgreSQL', () => {
  it('stores the secret sealed and seals plain-text rows when 0009 runs', async () => {
    const t = await openTestDatabase('postgres');
    try {
      const key = await t.db.accounts.createKey('default');
      const stored = await t.db.kysely
        .selectFrom('accessKeys')
        .select('accessKeySecret')
        .where('accessKeyId', '=', key.accessKeyId)
        .executeTakeFirstOrThrow();
      expect(stored.accessKeySecret).toMatch(/^sealed:v1:/);
      expect(stored.accessKeySecret).not.toContain(key.accessKeySecret);
      // a row as an earlier version wrote it, and 0009 not yet run
      await t.db.kysely
        .insertInto('accessKeys')
        .values({ accessKeyId: 'LTAIold', accessKeySecret: 'plain-old', account: 'default', created: 'x' })
        .execute();
      await sql`delete from kysely_migration where name = '0009_sealed_secrets'`.execute(t.db.kysely);
      const again = await t.openAnother();
      expect(await again.accounts.findKey('LTAIold')).toEqual({ secret: 'plain-old', account: 'default' });
      expect(await again.accounts.findKey(key.accessKeyId)).toEqual({
        secret: key.accessKeySecret,
        account: 'default',
      });
    } finally {
      await t.dispose();
    }
  });
});

describe('SecretBox keeps what it opened (every signed request opens its key)', () => {
  it('yet a value bound to another row or tampered with still fails, and a deleted key is gone at once', async () => {
    const box = new SecretBox({ keyFile: join(dir, 'memo.key') });
    const sealed = box.seal('s3cret', 'LTAIa');
    expect(box.open(sealed, 'LTAIa')).toBe('s3cret');
    expect(box.open(sealed, 'LTAIa')).toBe('s3cret');
    expect(() => box.open(sealed, 'LTAIb')).toThrow();
    expect(() => box.open(`${sealed.slice(0, -2)}${sealed.endsWith('AA') ? 'BB' : 'AA'}`, 'LTAIa')).toThrow();
    const t = await openTestDatabase('sqlite');
    try {
      const key = await t.db.accounts.createKey('default');
      expect((await t.db.accounts.findKey(key.accessKeyId))?.secret).toBe(key.accessKeySecret);
      await t.db.accounts.deleteKey(key.accessKeyId);
      expect(await t.db.accounts.findKey(key.accessKeyId)).toBeNull();
    } finally {
      await t.dispose();
    }
  });
});
