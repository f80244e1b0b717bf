import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { type Db, openDatabase } from '../../src/db/database.ts';
import type { Backend } from '../../src/db/testing.ts';
import { connectAdb } from '../../src/devices/adb/connect.ts';
import { type Emulator, startEmulator } from '../../src/emulator/emulator.ts';
import { API_READY, type CliProcess, startCli } from './cli-process.ts';
import { type Call, client } from './clients.ts';

// The service as a child process that can be SIGKILLed and started again on the same data folder
// and database, with the emulated phones in the test process. The test keeps its own connection
// to the metadata database, to read what the API does not show (digests) and to register phones.

export const LEASE_MS = 2_000;
export const STALL_MS = 3_000;
export const ENDPOINT = 'oss-cn-hangzhou.aliyuncs.com';
/** the worker settings every child gets: short leases so a dead worker's task is taken over fast */
export const WORKER = { leaseMs: LEASE_MS, stallMs: STALL_MS, retryBaseMs: 200, retryMaxMs: 1_000 };

const ADMIN = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface FaultStack {
  dir: string;
  dataDir: string;
  configFile: string;
  db: Db;
  key: { accessKeyId: string; accessKeySecret: string };
  phones: Emulator[];
  ids: string[];
  /** the service child started last (alive or not) */
  readonly service: CliProcess;
  /**
   * starts `serve` (API and worker) with these failpoints armed; it becomes `service` (one left
   * running by a failed experiment is SIGKILLed first, so the next one starts clean)
   */
  serve(failpoints?: string[], opts?: { worker?: boolean }): Promise<CliProcess>;
  /** a signed eds-aic call to the current service */
  call: Call;
  addInstance(id: string, address: string): Promise<void>;
  close(): Promise<void>;
}

export async function adminQuery(url: string, text: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(text);
  } finally {
    await c.end();
  }
}

/** `databaseUrl`: a PostgreSQL database the caller owns (not dropped); else a fresh one per backend */
export async function startFaultStack(opts: {
  backend: Backend;
  phones: number;
  databaseUrl?: string;
}): Promise<FaultStack> {
  const dir = mkdtempSync(join(tmpdir(), 'cpb-fault-'));
  const dataDir = join(dir, 'data');
  let databaseUrl = opts.databaseUrl;
  let database: string | undefined;
  if (opts.backend === 'postgres' && !databaseUrl) {
    database = `cpb_fault_${process.pid}_${Date.now()}`;
    await adminQuery(ADMIN, `create database ${database}`);
    const url = new URL(ADMIN);
    url.pathname = `/${database}`;
    databaseUrl = url.toString();
  }
  const configFile = join(dir, 'config.json');
  writeFileSync(configFile, JSON.stringify({ dataDir, databaseUrl, server: { port: 0 }, worker: WORKER }));
  const db = await openDatabase({ dataDir, databaseUrl });
  const key = await db.accounts.createKey('default');
  const phones: Emulator[] = [];
  const ids: string[] = [];
  let service: CliProcess | undefined;
  const clients = new Map<string, Call>();
  const stack: FaultStack = {
    dir,
    dataDir,
    configFile,
    db,
    key,
    phones,
    ids,
    get service() {
      if (!service) throw new Error('no service started');
      return service;
    },
    async serve(failpoints = [], opts = {}) {
      await service?.kill('SIGKILL');
      const env = { CPB_FAILPOINTS: failpoints.join(',') };
      const args = ['serve', '--config', configFile, ...(opts.worker === false ? ['--no-worker'] : [])];
      service = await startCli(args, { ready: API_READY, env });
      return service;
    },
    call: (action, params) => {
      const url = stack.service.ready[1] as string;
      const c = clients.get(url) ?? client('openapi-core V3', url, key);
      clients.set(url, c);
      return c(action, params);
    },
    async addInstance(id, address) {
      const device = await connectAdb(address, { keyDir: join(dataDir, 'adb') });
      const { androidVersion, sdk, abi, fingerprint } = await device.properties();
      await device.close();
      await db.instances.add({
        id,
        account: 'default',
        name: id,
        adbAddress: address,
        imageId: 'img-fault',
        imageVersion: '1.0',
        imageType: 'custom',
        instanceType: 'cpm.gx7.10xlarge',
        androidVersion,
        sdk,
        abi,
        fingerprint,
      });
      ids.push(id);
    },
    async close() {
      await service?.kill('SIGKILL');
      for (const p of phones) await p.close();
      await db.close();
      if (database) await adminQuery(ADMIN, `drop database if exists ${database} with (force)`);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  for (let i = 0; i < opts.phones; i++) {
    const phone = await startEmulator({ root: join(dir, `phone${i}`), port: 0, seedApps: true });
    phones.push(phone);
    await stack.addInstance(`acp-fault${i}`, phone.address);
  }
  return stack;
}

/** SIGTERM: the service drains (nothing runs between experiments) and exits 0 */
export async function stopService(service: CliProcess): Promise<void> {
  const exit = await service.kill('SIGTERM');
  if (exit.code !== 0) throw new Error(`the service exited ${exit.signal ?? exit.code}:\n${service.output()}`);
}
