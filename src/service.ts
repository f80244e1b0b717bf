import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { actions } from './api/actions/index.ts';
import { SessionStore } from './api/console/sessions.ts';
import { buildApi } from './api/server.ts';
import { reconcile } from './backup/reconcile.ts';
import { restoreVerdicts } from './backup/restore-verdict.ts';
import type { ServiceDeps } from './backup/service-deps.ts';
import type { TaskDeps } from './backup/task-deps.ts';
import { TASKS } from './backup/tasks/index.ts';
import type { Config } from './config.ts';
import { type Db, databaseOptions, openDatabase, repositories } from './db/database.ts';
import { connectAdb } from './devices/adb/connect.ts';
import type { DeviceConnector } from './devices/device.ts';
import { objectStoreFor } from './storage/endpoints.ts';
import { EmbeddedRunner } from './tasks/embedded-runner.ts';
import { wireTasks } from './tasks/task-wiring.ts';

// The composition root: the one place that picks implementations for the ports from config
// and wires the API, the task runner and the domain together.

export interface Service {
  db: Db;
  /** `http://host:port` when the API runs */
  url?: string;
  /**
   * stops: the API first, then the worker, which claims nothing more and gives running tasks
   * `graceMs` (default 0) to finish before it aborts them, handing them back to the queue
   */
  close(opts?: { graceMs?: number }): Promise<void>;
}

export async function startService(config: Config, logger: Logger, roles: { api: boolean; worker: boolean }) {
  const db = await openDatabase(databaseOptions(config));
  const storeFor = (endpoint: string) => objectStoreFor(endpoint, config.storage, config.dataDir);
  const connect: DeviceConnector = (address, opts) =>
    connectAdb(address, {
      keyDir: config.adb.keyDir,
      timeoutMs: config.adb.connectTimeoutMs,
      idleTimeoutMs: config.adb.idleTimeoutMs,
      signal: opts?.signal,
    });
  const taskDeps: TaskDeps = {
    db,
    connect,
    storeFor,
    backup: config.backup,
    files: config.files,
    abandonedAfterMs: 2 * config.worker.stallMs,
  };
  const backoff = { baseMs: config.worker.retryBaseMs, maxMs: config.worker.retryMaxMs };
  const tasks = wireTasks(TASKS, taskDeps, repositories, backoff);
  const runner = new EmbeddedRunner(db.kysely, {
    concurrency: config.worker.concurrency,
    leaseMs: config.worker.leaseMs,
    stallMs: config.worker.stallMs,
    onError: (err, context) => logger.error({ err, context }, 'task runner fault'),
    hooks: tasks.hooks,
    retryDelay: tasks.retryDelay,
    resultOf: tasks.resultOf,
  });
  // settled tasks' clean-up (a failed backup's objects) runs in whichever process settled them
  runner.onSettled(async (task) => {
    logger.info({ TaskId: task.id, status: task.status, errorCode: task.errorCode }, 'task settled');
    await tasks.afterSettled(task);
  });
  if (roles.worker) await runner.start(tasks.handler);
  // repairs transient statuses a crash of an older version could have left, now and every lease
  const repair = async () => {
    for (const fix of await reconcile(taskDeps)) logger.warn({ fix }, 'reconciled');
  };
  let reconciler: NodeJS.Timeout | undefined;
  if (roles.worker) {
    await repair();
    reconciler = setInterval(
      () => repair().catch((err) => logger.error({ err }, 'reconcile failed')),
      config.worker.leaseMs,
    );
    reconciler.unref();
  }
  let app: FastifyInstance | undefined;
  let url: string | undefined;
  if (roles.api) {
    const serviceDeps: ServiceDeps = {
      db,
      storeFor,
      notifyTasks: () => runner.notify(),
      maxPendingTasks: config.server.maxPendingTasksPerInstance,
      files: config.files,
      regionId: config.regionId,
      cancelTask: (id, by) => runner.cancel(id, by),
    };
    const limits = { idleMs: config.console.idleMinutes * 60_000, maxMs: config.console.maxHours * 3_600_000 };
    app = buildApi({
      actions: actions(serviceDeps),
      credentials: { find: (id) => db.accounts.findKey(id) },
      nonces: db.nonces,
      logger,
      console: config.console.enabled
        ? {
            sessions: new SessionStore(limits),
            verdicts: (account, fileId, ids) => restoreVerdicts(serviceDeps, account, fileId, ids),
          }
        : undefined,
    });
    url = await app.listen({ host: config.server.host, port: config.server.port });
  }
  const service: Service = {
    db,
    url,
    async close(opts = {}) {
      await app?.close();
      clearInterval(reconciler);
      if (roles.worker) {
        const drained = runner.stop({ drain: true });
        const grace = new Promise<void>((r) => setTimeout(r, opts.graceMs ?? 0).unref());
        await Promise.race([drained, grace]);
        await runner.stop();
      }
      await db.close();
    },
  };
  return service;
}
