import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';

const dir = mkdtempSync(join(tmpdir(), 'cpb-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function file(data: unknown): string {
  const path = join(dir, `c${n++}.json`);
  writeFileSync(path, typeof data === 'string' ? data : JSON.stringify(data));
  return path;
}

function failure(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

// The config file example from DESIGN.md (Storage), as written there.
const DESIGN_EXAMPLE = `{ "storage": {
    "default": { "driver": "fs" },
    "endpoints": {
      "oss-cn-hangzhou-internal.aliyuncs.com": { "driver": "s3", "url": "https://oss-cn-hangzhou-internal.aliyuncs.com",
        "region": "oss-cn-hangzhou", "forcePathStyle": false, "accessKeyId": "…", "secretAccessKey": "…" } } } }`;

describe('loadConfig', () => {
  it('has defaults for everything', () => {
    const c = loadConfig({ flags: {}, env: {} });
    expect(c).toEqual({
      server: { host: '127.0.0.1', port: 8080, maxPendingTasksPerInstance: 10 },
      console: { enabled: true, idleMinutes: 30, maxHours: 8 },
      regionId: 'cn-hangzhou',
      dataDir: resolve('data'),
      secrets: { keyFile: resolve('data', 'secret.key') },
      worker: {
        enabled: true,
        concurrency: 4,
        leaseMs: 60_000,
        stallMs: 180_000,
        shutdownGraceMs: 30_000,
        retryBaseMs: 2_000,
        retryMaxMs: 60_000,
      },
      adb: { keyDir: resolve('data', 'adb'), connectTimeoutMs: 10_000, idleTimeoutMs: 120_000 },
      backup: { requireSuspension: false },
      files: { allowedRoots: ['/data'] },
      storage: { default: { driver: 'fs' }, endpoints: {}, requestTimeoutMs: 30_000, connectTimeoutMs: 10_000 },
    });
    expect(c.databaseUrl).toBeUndefined();
  });

  it('takes the secrets key from SECRETS_KEY (32 bytes in base64) and never shows a bad one', () => {
    const key = Buffer.alloc(32, 7).toString('base64');
    expect(loadConfig({ flags: {}, env: { SECRETS_KEY: key } }).secrets).toEqual({
      key,
      keyFile: resolve('data', 'secret.key'),
    });
    expect(() => loadConfig({ flags: {}, env: { SECRETS_KEY: 'c2hvcnQ=' } })).toThrow(
      'secrets.key=[redacted] (env SECRETS_KEY): expected 32 bytes in base64',
    );
  });

  it('reads the console settings from the file and the env, and refuses an idle time of 0', () => {
    const c = loadConfig({ flags: {}, env: { CONSOLE_IDLE_MINUTES: '5', CONSOLE_ENABLED: 'false' } });
    expect(c.console).toEqual({ enabled: false, idleMinutes: 5, maxHours: 8 });
    expect(() => loadConfig({ flags: {}, env: { CONSOLE_IDLE_MINUTES: '0' } })).toThrow(/console\.idleMinutes/);
  });

  it('reads files.allowedRoots from the file and from FILES_ALLOWED_ROOTS, and refuses roots that are not normalised', () => {
    const fromFile = loadConfig({ flags: { config: file({ files: { allowedRoots: ['/data/media/0'] } }) }, env: {} });
    expect(fromFile.files.allowedRoots).toEqual(['/data/media/0']);
    const fromEnv = loadConfig({ flags: {}, env: { FILES_ALLOWED_ROOTS: '/data/media/0, /data/local/tmp' } });
    expect(fromEnv.files.allowedRoots).toEqual(['/data/media/0', '/data/local/tmp']);
    for (const bad of ['data', '/data/', '/data//x', '/data/../system', '/data/./x'])
      expect(() => loadConfig({ flags: {}, env: { FILES_ALLOWED_ROOTS: bad } })).toThrow(/files\.allowedRoots/);
  });

  it('reads regionId from the file and from REGION_ID, and refuses what is not a region id', () => {
    expect(loadConfig({ flags: { config: file({ regionId: 'ap-southeast-1' }) }, env: {} }).regionId).toBe(
      'ap-southeast-1',
    );
    expect(loadConfig({ flags: {}, env: { REGION_ID: 'cn-shanghai-finance-1' } }).regionId).toBe(
      'cn-shanghai-finance-1',
    );
    for (const bad of ['Hangzhou', 'cn_hangzhou', 'cn-', '-cn-hangzhou'])
      expect(() => loadConfig({ flags: {}, env: { REGION_ID: bad } })).toThrow(
        new RegExp(`regionId="${bad}" \\(env REGION_ID\\): expected an Alibaba Cloud region id`),
      );
  });

  it('reads backup.requireSuspension from the file and from BACKUP_REQUIRE_SUSPENSION', () => {
    const fromFile = loadConfig({ flags: { config: file({ backup: { requireSuspension: true } }) }, env: {} });
    expect(fromFile.backup.requireSuspension).toBe(true);
    expect(loadConfig({ flags: {}, env: { BACKUP_REQUIRE_SUSPENSION: 'true' } }).backup.requireSuspension).toBe(true);
    expect(() => loadConfig({ flags: {}, env: { BACKUP_REQUIRE_SUSPENSION: 'yes' } })).toThrow(
      /backup\.requireSuspension="yes" \(env BACKUP_REQUIRE_SUSPENSION\)/,
    );
  });

  it('reads the per-phone cap on pending tasks from the file and MAX_PENDING_TASKS_PER_INSTANCE', () => {
    const fromFile = loadConfig({ flags: { config: file({ server: { maxPendingTasksPerInstance: 3 } }) }, env: {} });
    expect(fromFile.server.maxPendingTasksPerInstance).toBe(3);
    expect(
      loadConfig({ flags: {}, env: { MAX_PENDING_TASKS_PER_INSTANCE: '25' } }).server.maxPendingTasksPerInstance,
    ).toBe(25);
    expect(() => loadConfig({ flags: {}, env: { MAX_PENDING_TASKS_PER_INSTANCE: '0' } })).toThrow(
      /server\.maxPendingTasksPerInstance/,
    );
  });

  it('parses the DESIGN example', () => {
    const c = loadConfig({ flags: { config: file(DESIGN_EXAMPLE) }, env: {} });
    expect(c.storage).toEqual({
      default: { driver: 'fs' },
      endpoints: {
        'oss-cn-hangzhou-internal.aliyuncs.com': {
          driver: 's3',
          url: 'https://oss-cn-hangzhou-internal.aliyuncs.com',
          region: 'oss-cn-hangzhou',
          forcePathStyle: false,
          accessKeyId: '…',
          secretAccessKey: '…',
        },
      },
      requestTimeoutMs: 30_000,
      connectTimeoutMs: 10_000,
    });
  });

  it('reads the inactivity timeouts from the file and the environment, with their floors', () => {
    const path = file({ adb: { idleTimeoutMs: 5000 }, storage: { requestTimeoutMs: 7000 } });
    const c = loadConfig({ flags: { config: path }, env: { STORAGE_CONNECT_TIMEOUT_MS: '3000' } });
    expect([c.adb.idleTimeoutMs, c.storage.requestTimeoutMs, c.storage.connectTimeoutMs]).toEqual([5000, 7000, 3000]);
    const e = loadConfig({ flags: {}, env: { ADB_IDLE_TIMEOUT_MS: '900', STORAGE_REQUEST_TIMEOUT_MS: '1500' } });
    expect([e.adb.idleTimeoutMs, e.storage.requestTimeoutMs]).toEqual([900, 1500]);
    expect(() => loadConfig({ flags: {}, env: { ADB_IDLE_TIMEOUT_MS: '99' } })).toThrow(
      /adb\.idleTimeoutMs="99" \(env ADB_IDLE_TIMEOUT_MS\)/,
    );
  });

  it('layers flags over env over the file over defaults, field by field', () => {
    const path = file({
      server: { host: '0.0.0.0', port: 1111 },
      dataDir: '/srv/from-file',
      databaseUrl: 'postgres://file/db',
      worker: { enabled: false, concurrency: 2 },
      adb: { connectTimeoutMs: 5000 },
    });
    const env = { CONFIG_FILE: path, PORT: '2222', DATA_DIR: '/srv/from-env', WORKER_CONCURRENCY: '3', HOST: '' };
    const c = loadConfig({ flags: {}, env });
    expect(c.server).toEqual({ host: '0.0.0.0', port: 2222, maxPendingTasksPerInstance: 10 });
    expect(c.dataDir).toBe('/srv/from-env');
    expect(c.adb).toEqual({ keyDir: '/srv/from-env/adb', connectTimeoutMs: 5000, idleTimeoutMs: 120_000 });
    expect(c.worker).toEqual({
      enabled: false,
      concurrency: 3,
      leaseMs: 60_000,
      stallMs: 180_000,
      shutdownGraceMs: 30_000,
      retryBaseMs: 2_000,
      retryMaxMs: 60_000,
    });
    expect(c.databaseUrl).toBe('postgres://file/db');

    // commander reports worker=true whenever --no-worker is absent: that must not undo the file's false
    const f = loadConfig({
      flags: { port: '3333', dataDir: 'rel/dir', worker: true, databaseUrl: 'postgresql://u:p@h:5432/x', json: true },
      env,
    });
    expect(f.server.port).toBe(3333);
    expect(f.dataDir).toBe(resolve('rel/dir'));
    expect(f.worker.enabled).toBe(false);
    expect(f.databaseUrl).toBe('postgresql://u:p@h:5432/x');
    expect(loadConfig({ flags: { worker: false }, env: {} }).worker.enabled).toBe(false);

    // --config wins over CONFIG_FILE
    const other = file({ server: { port: 4444 } });
    expect(loadConfig({ flags: { config: other }, env: { CONFIG_FILE: path } }).server.port).toBe(4444);
  });

  it('lists every bad field with its path and source, never a secret', () => {
    const path = file({
      server: { prot: 1 },
      worker: { concurrency: 0 },
      storage: {
        default: { driver: 'ftp' },
        endpoints: {
          'Bad/Host': { driver: 'fs' },
          'ok.example.com': { driver: 's3', url: 'ftp://x', secretAccessKey: 'hunter2-secret' },
        },
      },
    });
    const err = failure(() =>
      loadConfig({
        flags: { port: '99999' },
        env: { CONFIG_FILE: path, DATABASE_URL: 'mysql://root:pa55word@db/x', WORKER_LEASE_MS: 'soon' },
      }),
    );
    expect(err.message.startsWith('Invalid configuration: ')).toBe(true);
    const problems = err.problems.join('\n');
    expect(problems).toContain('server.port="99999" (flag --port)');
    expect(problems).toMatch(/server \(config file .*\): Unrecognized key: "prot"/);
    expect(problems).toContain('databaseUrl="mysql://***@db/x" (env DATABASE_URL): expected a postgres:// or');
    expect(problems).toContain('worker.concurrency=0 (config file');
    expect(problems).toContain('worker.leaseMs="soon" (env WORKER_LEASE_MS)');
    expect(problems).toContain('storage.default.driver="ftp" (config file');
    expect(problems).toMatch(/storage\.endpoints\["Bad\/Host"\] \(config file .*\): expected a lower-case host name/);
    expect(problems).toContain('storage.endpoints["ok.example.com"].url="ftp://x" (config file');
    expect(problems).toContain('storage.endpoints["ok.example.com"].secretAccessKey=[redacted]');
    expect(err.problems).toHaveLength(9);
    expect(err.message).not.toContain('hunter2');
    expect(err.message).not.toContain('pa55word');
  });

  it('says which file it could not read or parse', () => {
    const missing = join(dir, 'nope.json');
    expect(failure(() => loadConfig({ flags: { config: missing }, env: {} })).message).toMatch(
      `Cannot read config file ${missing}: ENOENT`,
    );
    const broken = file('{ "server": ');
    expect(failure(() => loadConfig({ flags: {}, env: { CONFIG_FILE: broken } })).message).toMatch(
      `Config file ${broken} is not valid JSON`,
    );
    expect(failure(() => loadConfig({ flags: { config: file([1]) }, env: {} })).message).toMatch('a JSON object');
  });

  it('accepts default: null and requires S3 credentials in pairs', () => {
    const c = loadConfig({ flags: { config: file({ storage: { default: null } }) }, env: {} });
    expect(c.storage.default).toBeNull();
    const s3 = { driver: 's3', url: 'http://127.0.0.1:9000', accessKeyId: 'id' };
    const err = failure(() =>
      loadConfig({ flags: { config: file({ storage: { endpoints: { 'minio.local:9000': s3 } } }) }, env: {} }),
    );
    expect(err.problems).toEqual([
      expect.stringContaining('storage.endpoints["minio.local:9000"].secretAccessKey (config file'),
    ]);
    const ok = loadConfig({
      flags: { config: file({ storage: { endpoints: { 'minio.local:9000': { driver: 's3', url: s3.url } } } }) },
      env: {},
    });
    expect(ok.storage.endpoints['minio.local:9000']).toEqual({
      driver: 's3',
      url: s3.url,
      region: 'us-east-1',
      forcePathStyle: false,
    });
  });

  it('is frozen all the way down', () => {
    const c = loadConfig({ flags: { config: file(JSON.parse(DESIGN_EXAMPLE)) }, env: {} });
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.server)).toBe(true);
    expect(Object.isFrozen(c.storage.endpoints['oss-cn-hangzhou-internal.aliyuncs.com'])).toBe(true);
    expect(() => {
      (c.server as { port: number }).port = 1;
    }).toThrow(TypeError);
  });
});
