import type { Command } from 'commander';
import { apiClient, listParams } from '../api-client.ts';
import { fail } from '../common.ts';
import { followAnswer, type WatchFlags, withWatchOptions } from '../progress/follow-answer.ts';

// `cloudphone-backup backup` and `restore`: BackupApp / RecoverApp (or the file and instance
// kinds, by what the backup file holds) through the API, then the tasks' progress until they end.

const list = (value: string): string[] =>
  value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

export function registerBackup(program: Command): void {
  withWatchOptions(program.command('backup'))
    .description('back up apps of instances (BackupApp), then show each instance task live until all end')
    .requiredOption('--instances <ids>', 'instance ids, comma-separated (acp-1,acp-2)', list)
    .requiredOption('--apps <packages>', 'package names, comma-separated (com.a,com.b)', list)
    .requiredOption('--to <path>', 'where the archives go, oss://bucket/dir/ (BackupFilePath)')
    .option(
      '--upload-endpoint <host>',
      'the object store endpoint that path is on, e.g. oss-cn-hangzhou.aliyuncs.com (UploadEndpoint; env CLOUDPHONE_UPLOAD_ENDPOINT)',
    )
    .option('--name <name>', 'name of the backup files (BackupFileName)')
    .option('--description <text>', 'description of the backup files')
    .action(async (flags: WatchFlags & Record<string, unknown>) => {
      const endpoint = flags.uploadEndpoint ?? process.env.CLOUDPHONE_UPLOAD_ENDPOINT;
      if (typeof endpoint !== 'string' || !endpoint)
        fail('--upload-endpoint (or CLOUDPHONE_UPLOAD_ENDPOINT) is required');
      const client = apiClient(flags);
      const params: Record<string, string> = {
        ...listParams('AndroidInstanceIdList', flags.instances as string[]),
        ...listParams('SourceAppList', flags.apps as string[]),
        BackupFilePath: String(flags.to),
        UploadEndpoint: endpoint,
        ...(flags.name ? { BackupFileName: String(flags.name) } : {}),
        ...(flags.description ? { Description: String(flags.description) } : {}),
      };
      await followAnswer(client, await client.call('BackupApp', params), flags);
    });

  withWatchOptions(program.command('restore'))
    .description(
      'restore a backup file onto instances (RecoverApp; RecoveryFile or RecoverAndroidInstance for file and whole-instance backups), then show each instance task live',
    )
    .argument('<backupFileId>', 'the backup file, bf-…')
    .requiredOption('--instances <ids>', 'target instance ids, comma-separated', list)
    .action(async (backupFileId: string, flags: WatchFlags & { instances: string[] }) => {
      const client = apiClient(flags);
      const found = await client.call('DescribeBackupFiles', { BackupFileId: backupFileId });
      const file = (found.Data as Array<Record<string, unknown>> | undefined)?.[0];
      if (!file) fail(`InvalidBackupFileId.NotFound: no backup file ${backupFileId} in this account`);
      const paths = file.SourceFilePathList as unknown[] | undefined;
      const action = file.BackupAll ? 'RecoverAndroidInstance' : paths?.length ? 'RecoveryFile' : 'RecoverApp';
      const params = {
        BackupFileId: backupFileId,
        UploadType: 'OSS',
        ...listParams('AndroidInstanceIdList', flags.instances),
      };
      if (!flags.json) process.stdout.write(`${action} of ${backupFileId} onto ${flags.instances.join(', ')}\n`);
      await followAnswer(client, await client.call(action, params), flags);
    });
}
