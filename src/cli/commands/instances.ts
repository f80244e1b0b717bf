import type { Command } from 'commander';
import { type Db, databaseOptions, openDatabase } from '../../db/database.ts';
import { END_USER_ID, INSTANCE_GROUP_ID, reportedColumns } from '../../db/instances-repo.ts';
import { connectAdb } from '../../devices/adb/connect.ts';
import { ServiceError } from '../../errors.ts';
import { configFrom, fail, withCommonOptions } from '../common.ts';

// Registers the phones the service may back up. What the device itself can tell (Android
// version, ABI, build fingerprint, CPUs, memory, display, network address) is read from it;
// image facts, group and end user, which only the operator knows, are typed in (image facts
// decide which backups may be restored where; group and end user are what Alibaba's filters
// select by).

const INSTANCE_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
type Flags = Record<string, unknown> & { account: string };

async function withDb<T>(flags: Flags, fn: (db: Db, keyDir: string) => Promise<T>): Promise<T> {
  const config = configFrom(flags);
  const db = await openDatabase(databaseOptions(config));
  try {
    return await fn(db, config.adb.keyDir);
  } catch (err) {
    if (err instanceof ServiceError) fail(err.message);
    throw err;
  } finally {
    await db.close();
  }
}

export function registerInstances(program: Command): void {
  const instances = program.command('instances').description('the phones this service backs up');
  withCommonOptions(instances.command('add'))
    .description(
      'register a phone by its adbd address; its Android version, ABI, fingerprint and hardware are read from it, the image facts you give decide where its backups may be restored',
    )
    .requiredOption('--id <id>', 'instance id, e.g. acp-demo')
    .requiredOption('--adb <host:port>', "the phone's adbd address")
    .option('--name <name>', 'display name (default: the id)')
    .option('--account <name>', 'owning account', 'default')
    .option('--image-id <id>', 'image the phone runs', 'default')
    .option('--image-version <v>', 'version of that image', '1')
    .option('--image-type <type>', 'public or custom', 'custom')
    .option('--instance-type <type>', 'instance type, e.g. cpm.gx7.10xlarge', 'cpm.local.1')
    .option('--group <id>', 'instance group it belongs to, e.g. ag-25nt4kk9whjh')
    .option('--end-user <name>', 'end user it is assigned to (3-24 of a-z, 0-9, _)')
    .action((flags: Flags) =>
      withDb(flags, async (db, keyDir) => {
        const id = String(flags.id);
        if (!INSTANCE_ID.test(id)) fail(`--id ${JSON.stringify(id)} is not a valid instance id`);
        if (flags.imageType !== 'public' && flags.imageType !== 'custom') fail('--image-type must be public or custom');
        const group = flags.group === undefined ? null : String(flags.group);
        if (group !== null && !INSTANCE_GROUP_ID.test(group))
          fail(`--group ${JSON.stringify(group)} is not an instance group id (ag- and lower-case letters and digits)`);
        const endUser = flags.endUser === undefined ? null : String(flags.endUser);
        if (endUser !== null && !END_USER_ID.test(endUser))
          fail(`--end-user ${JSON.stringify(endUser)} is not an end user id (3-24 of a-z, 0-9 and _)`);
        const device = await connectAdb(String(flags.adb), { keyDir });
        const props = await device.properties().finally(() => device.close());
        const added = await db.instances.add({
          id,
          account: flags.account,
          name: String(flags.name ?? id),
          adbAddress: String(flags.adb),
          imageId: String(flags.imageId),
          imageVersion: String(flags.imageVersion),
          imageType: flags.imageType,
          instanceType: String(flags.instanceType),
          instanceGroupId: group,
          endUserId: endUser,
          ...reportedColumns(props),
        });
        process.stdout.write(
          `added ${added.id} (Android ${added.androidVersion}, ${added.abi}) for account ${added.account}\n`,
        );
      }),
    );
  withCommonOptions(instances.command('list'))
    .description("list an account's phones: id, status, adb address, Android, ABI, group, end user, name")
    .option('--account <name>', 'owning account', 'default')
    .option('--json', 'print JSON')
    .action((flags: Flags) =>
      withDb(flags, async (db) => {
        const page = await db.instances.list(flags.account, {}, { maxResults: 100 });
        if (flags.json) return void process.stdout.write(`${JSON.stringify(page.items, null, 2)}\n`);
        for (const i of page.items) {
          const group = i.instanceGroupId ?? '-';
          const user = i.endUserId ?? '-';
          process.stdout.write(
            `${i.id}\t${i.status}\t${i.adbAddress}\tAndroid ${i.androidVersion}\t${i.abi}\t${group}\t${user}\t${i.name}\n`,
          );
        }
      }),
    );
  withCommonOptions(instances.command('remove'))
    .description('forget a phone (its backup files and tasks stay)')
    .requiredOption('--id <id>', 'instance id')
    .option('--account <name>', 'owning account', 'default')
    .action((flags: Flags) =>
      withDb(flags, async (db) => {
        if (!(await db.instances.remove(flags.account, String(flags.id))))
          fail(`no instance ${flags.id} in ${flags.account}`);
        process.stdout.write(`removed ${flags.id}\n`);
      }),
    );
}
