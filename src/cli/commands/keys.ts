import type { Command } from 'commander';
import { type Db, databaseOptions, openDatabase } from '../../db/database.ts';
import { configFrom, fail, withCommonOptions } from '../common.ts';

// The API's credentials. The database keeps each secret sealed (AES-256-GCM) under a key that
// lives outside it (src/db/secret-box.ts, docs/security.md); these commands work on that database
// directly, like `instances`, so they run on the service's host.

type Flags = Record<string, unknown> & { json?: boolean };

async function withDb<T>(flags: Flags, fn: (db: Db) => Promise<T>): Promise<T> {
  const db = await openDatabase(databaseOptions(configFrom(flags)));
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

const print = (text: string): void => void process.stdout.write(text);

export function registerKeys(program: Command): void {
  const keys = program
    .command('keys')
    .description('API credentials (AccessKeyId/AccessKeySecret pairs) in the metadata database');
  withCommonOptions(keys.command('create'))
    .description('create an AccessKeyId/AccessKeySecret pair for an account; the secret is shown only now')
    .option('--account <name>', 'account the key acts for (created if new)', 'default')
    .option('--json', 'print {"AccessKeyId":…,"AccessKeySecret":…} only')
    .action((flags: Flags & { account: string }) =>
      withDb(flags, async (db) => {
        const key = await db.accounts.createKey(flags.account);
        const out = { AccessKeyId: key.accessKeyId, AccessKeySecret: key.accessKeySecret };
        if (flags.json) return print(`${JSON.stringify(out)}\n`);
        print(
          [
            `Created a key for account "${flags.account}".`,
            'The service keeps the secret (it needs it to check signatures) encrypted in the metadata',
            `database, under ${db.secrets.describe()}; it is not shown again.`,
            `export ALIBABA_CLOUD_ACCESS_KEY_ID=${out.AccessKeyId}`,
            `export ALIBABA_CLOUD_ACCESS_KEY_SECRET=${out.AccessKeySecret}`,
            '',
          ].join('\n'),
        );
      }),
    );
  withCommonOptions(keys.command('list'))
    .description('list the AccessKeyIds, their accounts and when they were made (never the secrets)')
    .option('--account <name>', "only this account's keys")
    .option('--json', 'print a JSON array of {AccessKeyId, Account, Created}')
    .action((flags: Flags & { account?: string }) =>
      withDb(flags, async (db) => {
        const rows = (await db.accounts.listKeys(flags.account)).map((k) => ({
          AccessKeyId: k.accessKeyId,
          Account: k.account,
          Created: k.created,
        }));
        if (flags.json) return print(`${JSON.stringify(rows, null, 2)}\n`);
        if (!rows.length) return print('no keys (`cloudphone-backup keys create` makes one)\n');
        for (const r of rows) print(`${r.AccessKeyId}\t${r.Account}\t${r.Created}\n`);
      }),
    );
  withCommonOptions(keys.command('delete'))
    .description('delete access keys: calls signed with them are refused from now on')
    .argument('<accessKeyIds...>', 'the AccessKeyIds, LTAI…')
    .action((ids: string[], flags: Flags) =>
      withDb(flags, async (db) => {
        const missing: string[] = [];
        for (const id of ids) {
          if (await db.accounts.deleteKey(id)) print(`deleted ${id}\n`);
          else missing.push(id);
        }
        if (missing.length) fail(`no such key: ${missing.join(', ')}`);
      }),
    );
}
