import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { actions } from './api/actions/index.ts';
import { buildApi } from './api/server.ts';
import type { TaskDeps } from './backup/task-deps.ts';
import { settleFailedTask, taskHandler } from './backup/task-handler.ts';
import type { Config } from './config.ts';
import { type Db, openDatabase } from './db/database.ts';
import { connectAdb } from './devices/adb/connect.ts';
import type { DeviceConnector } from './devices/device.ts';
import { objectStoreFor } from './storage/endpoints.ts';
import { EmbeddedRunner } from './tasks/embedded-runner.ts';

// The composition root: the one place that picks implementations for the ports from config
// and wires the API, the task runner and the domain together.

export interface Service {
  db: Db;
  /** `http://host:port` when the API runs */
  url?: string;
  close(): Promise<void>;
}

export async function startService(config: Config, logger: Logger, roles: { api: boolean; worker: boolean }) {
  const db = await openDatabase({ dataDir: config.dataDir, databaseUrl: config.databaseUrl });
  const storeFor = (endpoint: string) => objectStoreFor(endpoint, config.storage, config.dataDir);
  const connect: DeviceConnector = (address, opts) =>
    connectAdb(address, { keyDir: config.adb.keyDir, timeoutMs: config.adb.connectTimeoutMs, signal: opts?.signal });
  const runner = new EmbeddedRunner(db.kysely, {
    concurrency: config.worker.concurrency,
    leaseMs: config.worker.leaseMs,
    onError: (err, context) => logger.error({ err, context }, 'task runner fault'),
  });
  const taskDeps: TaskDeps = { db, connect, storeFor, backup: config.backup };
  if (roles.worker) {
    runner.onSettled(async (task) => {
      logger.info({ TaskId: task.id, status: task.status, errorCode: task.errorCode }, 'task settled');
      await settleFailedTask(taskDeps, task);
    });
    await runner.start(taskHandler(taskDeps));
  }
  let app: FastifyInstance | undefined;
  let url: string | undefined;
  if (roles.api) {
    app = buildApi({
      actions: actions({ db, storeFor, notifyTasks: () => runner.notify() }),
      credentials: { find: (id) => db.accounts.findKey(id) },
      nonces: db.nonces,
      logger,
    });
    url = await app.listen({ host: config.server.host, port: config.server.port });
  }
  const service: Service = {
    db,
    url,
    async close() {
      await app?.close();
      if (roles.worker) await runner.stop();
      await db.close();
    },
  };
  return service;
}
