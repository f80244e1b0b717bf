import type { Command } from 'commander';
import { pino } from 'pino';
import { startService } from '../../service.ts';
import { configFrom, withCommonOptions } from '../common.ts';

export function registerServe(program: Command): void {
  withCommonOptions(program.command('serve'))
    .description('run the API (and, unless --no-worker, a task worker)')
    .option('--host <host>', 'listen address (env HOST, default 127.0.0.1)')
    .option('--port <port>', 'listen port (env PORT, default 8080)')
    .option('--no-worker', 'API only: leave tasks to `cloudphone-backup worker` processes')
    .option('--concurrency <n>', 'tasks run at once by the embedded worker (default 4)')
    .action(async (flags: Record<string, unknown>) => {
      const config = configFrom(flags);
      const logger = pino({ name: 'cloudphone-backup' });
      const service = await startService(config, logger, { api: true, worker: config.worker.enabled });
      process.stdout.write(
        [
          `cloudphone-backup API on ${service.url}/ (eds-aic 2023-09-30)`,
          `data dir: ${config.dataDir}  metadata: ${config.databaseUrl ? 'PostgreSQL' : 'SQLite'}  worker: ${config.worker.enabled ? 'embedded' : 'off'}`,
          'next steps:',
          '  cloudphone-backup keys create                       # an AccessKeyId/secret for the SDKs',
          '  cloudphone-backup emulator --root ./phone --port 7001 --seed-apps   # an emulated phone',
          '  cloudphone-backup instances add --id acp-demo --adb 127.0.0.1:7001',
          '',
        ].join('\n'),
      );
      onSignal(() => service.close());
    });
}

export function registerWorker(program: Command): void {
  withCommonOptions(program.command('worker'))
    .description('run a task worker only (scale-out: needs a shared --database-url)')
    .option('--concurrency <n>', 'tasks run at once (default 4)')
    .action(async (flags: Record<string, unknown>) => {
      const config = configFrom(flags);
      const logger = pino({ name: 'cloudphone-backup-worker' });
      const service = await startService(config, logger, { api: false, worker: true });
      logger.info({ dataDir: config.dataDir }, 'worker started');
      onSignal(() => service.close());
    });
}

function onSignal(close: () => Promise<void>): void {
  const stop = () => {
    void close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
