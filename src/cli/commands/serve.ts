import type { Command } from 'commander';
import { type Logger, pino } from 'pino';
import type { Config } from '../../config.ts';
import { isDatabaseUnavailable } from '../../db/unavailable.ts';
import { type Service, startService } from '../../service.ts';
import { configFrom, fail, withCommonOptions } from '../common.ts';

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
      const service = await start(config, logger, { api: true, worker: config.worker.enabled });
      process.stdout.write(
        [
          `cloudphone-backup API on ${service.url}/ (eds-aic 2023-09-30)`,
          ...(config.console.enabled ? [`web console on ${service.url}/console (sign in with a key)`] : []),
          `data dir: ${config.dataDir}  metadata: ${config.databaseUrl ? 'PostgreSQL' : 'SQLite'}  worker: ${config.worker.enabled ? 'embedded' : 'off'}`,
          'next steps:',
          '  cloudphone-backup keys create                       # an AccessKeyId/secret for the SDKs',
          '  cloudphone-backup emulator --root ./data/phone --port 7001 --seed-apps   # an emulated phone',
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
      const service = await start(config, logger, { api: false, worker: true });
      logger.info({ dataDir: config.dataDir }, 'worker started');
      onSignal(service, config.worker.shutdownGraceMs, logger);
    });
}

/** starts the service, or exits with one line a user can act on (a busy port, a database away) */
async function start(config: Config, logger: Logger, roles: { api: boolean; worker: boolean }): Promise<Service> {
  try {
    return await startService(config, logger, roles);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const { host, port } = config.server;
    if (code === 'EADDRINUSE') fail(`${host}:${port} is already in use; pick another port with --port or PORT`);
    if (code === 'EADDRNOTAVAIL') fail(`${host} is not an address of this machine; pick another with --host or HOST`);
    if (code === 'EACCES') fail(`not allowed to listen on ${host}:${port}; pick a port above 1023`);
    if (config.databaseUrl && isDatabaseUnavailable(err)) {
      const where = new URL(config.databaseUrl);
      fail(`cannot reach the database at ${where.host}${where.pathname} (${(err as Error).message || String(code)})`);
    }
    throw err;
  }
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
