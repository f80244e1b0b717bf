import type { Command } from 'commander';
import { openDatabase } from '../../db/database.ts';
import { configFrom, withCommonOptions } from '../common.ts';

export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('API credentials');
  withCommonOptions(keys.command('create'))
    .description('create an AccessKeyId/AccessKeySecret pair (the secret is shown only now)')
    .option('--account <name>', 'account the key acts for (created if new)', 'default')
    .option('--json', 'print {"AccessKeyId":…,"AccessKeySecret":…}')
    .action(async (flags: { account: string; json?: boolean } & Record<string, unknown>) => {
      const config = configFrom(flags);
      const db = await openDatabase({ dataDir: config.dataDir, databaseUrl: config.databaseUrl });
      try {
        const key = await db.accounts.createKey(flags.account);
        const out = { AccessKeyId: key.accessKeyId, AccessKeySecret: key.accessKeySecret };
        process.stdout.write(
          flags.json
            ? `${JSON.stringify(out)}\n`
            : [
                `Created a key for account "${flags.account}". The secret is not stored anywhere you can read it again.`,
                `export ALIBABA_CLOUD_ACCESS_KEY_ID=${out.AccessKeyId}`,
                `export ALIBABA_CLOUD_ACCESS_KEY_SECRET=${out.AccessKeySecret}`,
                '',
              ].join('\n'),
        );
      } finally {
        await db.close();
      }
    });
}
