import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { connectAdb } from '../src/devices/adb/connect.ts';
import { type Emulator, startEmulator } from '../src/emulator/emulator.ts';
import { type Service, startService } from '../src/service.ts';
import { client } from './helpers/clients.ts';
import { type Row, waitTask } from './helpers/wait.ts';

// The scale-out shape from DESIGN: metadata and tasks in PostgreSQL, one API-only process
// (`serve --no-worker`) and two worker-only processes sharing a data folder for the fs store;
// a BackupApp for two phones is picked up by the workers and finishes.

const ADMIN = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const dbName = `cpb_scale_${process.pid}_${Date.now()}`;
const dir = mkdtempSync(join(tmpdir(), 'cpb-scale-'));
const phones: Emulator[] = [];
const services: Service[] = [];

async function admin(sql: string) {
  const c = new pg.Client({ connectionString: ADMIN });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  await admin(`CREATE DATABASE ${dbName}`);
  const url = new URL(ADMIN);
  url.pathname = `/${dbName}`;
  const config = loadConfig({ flags: { dataDir: join(dir, 'data'), port: '0', databaseUrl: url.toString() }, env: {} });
  const logger = pino({ level: 'silent' });
  services.push(await startService(config, logger, { api: true, worker: false }));
  services.push(await startService(config, logger, { api: false, worker: true }));
  services.push(await startService(config, logger, { api: false, worker: true }));
  for (let i = 0; i < 2; i++)
    phones.push(await startEmulator({ root: join(dir, `phone${i}`), port: 0, seedApps: true }));
}, 120_000);

afterAll(async () => {
  for (const s of services) await s.close();
  for (const p of phones) await p.close();
  await admin(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  rmSync(dir, { recursive: true, force: true });
});

it('an API-only process and two workers on PostgreSQL complete a two-phone BackupApp', async () => {
  const api = services[0] as Service;
  const key = await api.db.accounts.createKey('default');
  const ids: string[] = [];
  for (const [i, phone] of phones.entries()) {
    const device = await connectAdb(phone.address, { keyDir: join(dir, 'data', 'adb') });
    const { androidVersion, sdk, abi, fingerprint } = await device.properties();
    await device.close();
    ids.push(`acp-scale${i}`);
    await api.db.instances.add({
      id: `acp-scale${i}`,
      account: 'default',
      name: `scale ${i}`,
      adbAddress: phone.address,
      imageId: 'img',
      imageVersion: '1',
      imageType: 'custom',
      instanceType: 'cpm.gx7.10xlarge',
      androidVersion,
      sdk,
      abi,
      fingerprint,
    });
  }
  const call = client('openapi-core V3', api.url as string, key);
  const res = await call('BackupApp', {
    AndroidInstanceIdList: ids,
    SourceAppList: ['com.example.notes'],
    BackupFilePath: 'oss://scale/out/',
    UploadEndpoint: 'oss-cn-hangzhou.aliyuncs.com',
  });
  const batch = await waitTask(call, String(res.TaskId), 120_000);
  expect(batch).toMatchObject({ TaskStatus: 'Finished', SuccessChildCount: 2 });
  const files = (await call('DescribeBackupFiles', { StatusList: ['AVAILABLE'] })).Data as Row[];
  expect(files).toHaveLength(2);
}, 180_000);
