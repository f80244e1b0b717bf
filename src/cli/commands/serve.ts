import type { Command } from 'commander';
import { type Logger, pino } from 'pino';
import { type Service, startService } from '../../service.ts';
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
      onSignal(service, config.worker.shutdownGraceMs, logger);
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
      onSignal(service, config.worker.shutdownGraceMs, logger);
    });
}

/**
 * SIGTERM/SIGINT: stop claiming, let running tasks finish for the grace period, then hand the
 * rest back to the queue (another worker, or this one after a restart, runs them again); a
 * second signal stops at once.
 */
function onSignal(service: Service, graceMs: number, logger: Logger): void {
  let closing = false;
  const stop = (signal: string) => {
    const now = closing;
    closing = true;
    logger.info({ signal, graceMs: now ? 0 : graceMs }, 'stopping');
    void service.close({ graceMs: now ? 0 : graceMs }).then(() => process.exit(0));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}
