import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { isEndpointName } from './storage/object-key.ts';

// The one configuration object, validated once at start-up and passed down in slices. Layers, the later
// winning: defaults < config file (--config / CONFIG_FILE, JSON) < environment < command-line flags.

const fromDigits = (v: unknown) => (typeof v === 'string' && /^\s*-?\d+\s*$/.test(v) ? Number(v) : v);
const fromWord = (v: unknown) => (v === 'true' ? true : v === 'false' ? false : v);
const bool = () => z.preprocess(fromWord, z.boolean());
const int = (min: number, max: number) => z.preprocess(fromDigits, z.number().int().min(min).max(max));

const fsDriver = z.strictObject({ driver: z.literal('fs') });
const s3Driver = z
  .strictObject({
    driver: z.literal('s3'),
    url: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }),
    region: z.string().min(1).default('us-east-1'),
    forcePathStyle: z.boolean().default(false),
    accessKeyId: z.string().min(1).optional(),
    secretAccessKey: z.string().min(1).optional(),
  })
  .refine((d) => (d.accessKeyId === undefined) === (d.secretAccessKey === undefined), {
    message: 'accessKeyId and secretAccessKey are given together or not at all',
    path: ['secretAccessKey'],
  });
const driver = z.discriminatedUnion('driver', [fsDriver, s3Driver]);
const fromList = (v: unknown) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()) : v);
// an absolute, normalised folder: what source-paths.ts compares request paths against
const phoneRoot = z
  .string()
  .regex(
    /^\/(?:[^/\u0000-\u001f]+(?:\/[^/\u0000-\u001f]+)*)?$/,
    'expected an absolute path without "//" or a trailing "/"',
  )
  .refine((p) => !p.split('/').some((s) => s === '.' || s === '..'), 'expected no "." or ".." segments');
const endpointName = z.string().refine(isEndpointName, 'expected a lower-case host name, optionally with :port');
/** Alibaba region ids: cn-hangzhou, ap-southeast-1, cn-shanghai-finance-1, cn-north-2-gov-1 … */
const regionId = z
  .string()
  .max(64)
  .regex(/^[a-z]{2,}(?:-[a-z0-9]+)+$/, 'expected an Alibaba Cloud region id such as cn-hangzhou');
/** the RegionId responses carry when the operator sets none */
export const DEFAULT_REGION_ID = 'cn-hangzhou';

/** BackupFile/RecoveryFile: the phone folders (and all below them) they may read and write */
export const FILES_DEFAULTS = { allowedRoots: ['/data'] } as const;

/** the task worker's defaults, shared by the config schema and the runner (one set of defaults) */
export const WORKER_DEFAULTS = {
  concurrency: 4,
  leaseMs: 60_000,
  /** a task whose lease is not renewed this long without progress is taken over */
  stallMs: 180_000,
  /** on SIGTERM, how long running tasks may go on before they are handed back */
  shutdownGraceMs: 30_000,
  /** first backoff before a task that hit a transient fault runs again; doubles up to retryMaxMs */
  retryBaseMs: 2_000,
  retryMaxMs: 60_000,
} as const;

const schema = z
  .strictObject({
    server: z
      .strictObject({
        host: z.string().min(1).default('127.0.0.1'),
        port: int(0, 65535).default(8080),
        /**
         * BackupApp and RecoverApp refuse (TooManyPendingTasks) a phone that already has this many
         * Waiting or Processing tasks: a phone runs one at a time, so more is a runaway client
         */
        maxPendingTasksPerInstance: int(1, 10_000).default(10),
      })
      .prefault({}),
    console: z
      .strictObject({
        /** the web console at /console (src/api/console, docs/console.md) */
        enabled: bool().default(true),
        /** a console session unused this long ends */
        idleMinutes: int(1, 24 * 60).default(30),
        /** and any console session this old, used or not */
        maxHours: int(1, 7 * 24).default(8),
      })
      .prefault({}),
    /** the region this service stands in for: RegionId of every instance, task and backup file it describes */
    regionId: regionId.default(DEFAULT_REGION_ID),
    dataDir: z.string().min(1).default('./data'),
    secrets: z
      .strictObject({
        /**
         * the key that seals access key secrets in the database (docs/security.md): base64 of 32
         * bytes; without it, the key file below (created on first use)
         */
        key: z
          .string()
          .refine(
            (k) => Buffer.from(k.trim(), 'base64').length === 32,
            'expected 32 bytes in base64 (openssl rand -base64 32)',
          )
          .optional(),
        /** where that key is kept when none is given (default <dataDir>/secret.key) */
        keyFile: z.string().min(1).optional(),
      })
      .prefault({}),
    databaseUrl: z
      .string()
      .refine(
        (s) => /^postgres(ql)?:\/\/[^\s]+$/.test(s) && URL.canParse(s),
        'expected a postgres:// or postgresql:// URL',
      )
      .optional(),
    worker: z
      .strictObject({
        enabled: z.boolean().default(true),
        concurrency: int(1, 256).default(WORKER_DEFAULTS.concurrency),
        /** how long a claimed task stays a worker's without a heartbeat before another may take it over */
        leaseMs: int(1_000, 3_600_000).default(WORKER_DEFAULTS.leaseMs),
        /**
         * a task that reports no progress (bytes read or written) for this long stops having its
         * lease renewed: a stalled phone or store then loses the task to the lease rules
         */
        stallMs: int(1_000, 86_400_000).default(WORKER_DEFAULTS.stallMs),
        shutdownGraceMs: int(0, 3_600_000).default(WORKER_DEFAULTS.shutdownGraceMs),
        retryBaseMs: int(1, 3_600_000).default(WORKER_DEFAULTS.retryBaseMs),
        retryMaxMs: int(1, 86_400_000).default(WORKER_DEFAULTS.retryMaxMs),
      })
      .prefault({}),
    adb: z
      .strictObject({
        keyDir: z.string().min(1).optional(),
        connectTimeoutMs: int(100, 600_000).default(10_000),
        /** while a stream waits on the phone, how long it may send nothing before the task fails (transient) */
        idleTimeoutMs: int(100, 86_400_000).default(120_000),
      })
      .prefault({}),
    backup: z
      .strictObject({
        /**
         * fail an app's backup when the package manager refuses to suspend it (default launcher,
         * dialer, SMS app, device admin) instead of copying it unsuspended with a warning
         */
        requireSuspension: bool().default(false),
      })
      .prefault({}),
    files: z
      .strictObject({
        /**
         * BackupFile/RecoveryFile read and write only at or below these phone folders
         * (src/backup/files/source-paths.ts); env FILES_ALLOWED_ROOTS, comma-separated
         */
        allowedRoots: z.preprocess(fromList, z.array(phoneRoot).min(1)).default([...FILES_DEFAULTS.allowedRoots]),
      })
      .prefault({}),
    storage: z
      .strictObject({
        default: driver.nullable().default({ driver: 'fs' }),
        endpoints: z.record(endpointName, driver).default({}),
        /** s3: an attempt that sends or receives nothing for this long fails (socket inactivity) */
        requestTimeoutMs: int(100, 3_600_000).default(30_000),
        /** s3: TCP/TLS connect bound */
        connectTimeoutMs: int(100, 600_000).default(10_000),
      })
      .prefault({}),
  })
  .transform((c) => {
    const dataDir = resolve(c.dataDir);
    const keyFile = resolve(c.secrets.keyFile ?? join(dataDir, 'secret.key'));
    return {
      ...c,
      dataDir,
      secrets: { ...c.secrets, keyFile },
      adb: { ...c.adb, keyDir: resolve(c.adb.keyDir ?? join(dataDir, 'adb')) },
    };
  });

type DeepReadonly<T> = T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> } : T;
export type Config = DeepReadonly<z.output<typeof schema>>;
export type StorageConfig = Config['storage'];
export type DriverConfig = NonNullable<StorageConfig['default']>;

export class ConfigError extends Error {
  constructor(
    message: string,
    readonly problems: readonly string[] = [],
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Path = readonly string[];
// Each source layer, with the name a user knows it by (for messages).
const ENV: ReadonlyArray<[string, Path]> = [
  ['HOST', ['server', 'host']],
  ['PORT', ['server', 'port']],
  ['MAX_PENDING_TASKS_PER_INSTANCE', ['server', 'maxPendingTasksPerInstance']],
  ['REGION_ID', ['regionId']],
  ['DATA_DIR', ['dataDir']],
  ['DATABASE_URL', ['databaseUrl']],
  ['SECRETS_KEY', ['secrets', 'key']],
  ['SECRETS_KEY_FILE', ['secrets', 'keyFile']],
  ['WORKER_CONCURRENCY', ['worker', 'concurrency']],
  ['WORKER_LEASE_MS', ['worker', 'leaseMs']],
  ['WORKER_STALL_MS', ['worker', 'stallMs']],
  ['WORKER_SHUTDOWN_GRACE_MS', ['worker', 'shutdownGraceMs']],
  ['ADB_KEY_DIR', ['adb', 'keyDir']],
  ['ADB_CONNECT_TIMEOUT_MS', ['adb', 'connectTimeoutMs']],
  ['ADB_IDLE_TIMEOUT_MS', ['adb', 'idleTimeoutMs']],
  ['STORAGE_REQUEST_TIMEOUT_MS', ['storage', 'requestTimeoutMs']],
  ['STORAGE_CONNECT_TIMEOUT_MS', ['storage', 'connectTimeoutMs']],
  ['BACKUP_REQUIRE_SUSPENSION', ['backup', 'requireSuspension']],
  ['FILES_ALLOWED_ROOTS', ['files', 'allowedRoots']],
  ['CONSOLE_ENABLED', ['console', 'enabled']],
  ['CONSOLE_IDLE_MINUTES', ['console', 'idleMinutes']],
  ['CONSOLE_MAX_HOURS', ['console', 'maxHours']],
];
// Commander's camel-cased option names. `--no-worker` yields worker=true when absent, so only false counts.
const FLAGS: ReadonlyArray<[string, string, Path]> = [
  ['host', '--host', ['server', 'host']],
  ['port', '--port', ['server', 'port']],
  ['dataDir', '--data-dir', ['dataDir']],
  ['databaseUrl', '--database-url', ['databaseUrl']],
  ['concurrency', '--concurrency', ['worker', 'concurrency']],
  ['worker', '--no-worker', ['worker', 'enabled']],
];

/** Builds the frozen config: flags > env > config file > defaults. Throws ConfigError listing every bad field. */
export function loadConfig(opts: { flags: Record<string, unknown>; env?: NodeJS.ProcessEnv }): Config {
  const env = opts.env ?? process.env;
  const raw: Record<string, unknown> = {};
  const sources = new Map<string, string>();
  const file = str(opts.flags.config) ?? str(env.CONFIG_FILE);
  if (file) {
    Object.assign(raw, readConfigFile(resolve(file)));
    sources.set('', `config file ${file}`);
  }
  for (const [name, path] of ENV) {
    const value = str(env[name]);
    if (value !== undefined) set(raw, path, value, sources, `env ${name}`);
  }
  for (const [name, flag, path] of FLAGS) {
    const value = opts.flags[name];
    if (value === undefined || (name === 'worker' && value !== false)) continue;
    set(raw, path, value, sources, `flag ${flag}`);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => describe(i, raw, sources));
    throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`, problems);
  }
  return deepFreeze(parsed.data);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() !== '' ? v : undefined;
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`Cannot read config file ${path}: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`Config file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new ConfigError(`Config file ${path} must hold a JSON object`);
  }
  return data as Record<string, unknown>;
}

function set(root: Record<string, unknown>, path: Path, value: unknown, sources: Map<string, string>, from: string) {
  let node = root;
  for (const part of path.slice(0, -1)) {
    const next = node[part];
    node[part] = typeof next === 'object' && next !== null && !Array.isArray(next) ? { ...next } : {};
    node = node[part] as Record<string, unknown>;
  }
  node[path[path.length - 1] as string] = value;
  sources.set(path.join('.'), from);
}

const SECRET = /secret|password|token|accesskey|^key$/i;

function describe(issue: z.core.$ZodIssue, raw: unknown, sources: Map<string, string>): string {
  const path = issue.path.map(String);
  const name = path.reduce(
    (acc, k) => (/^[A-Za-z_]\w*$/.test(k) ? (acc ? `${acc}.${k}` : k) : `${acc}[${JSON.stringify(k)}]`),
    '',
  );
  let from = 'default';
  for (let n = path.length; n >= 0; n--) {
    const s = sources.get(path.slice(0, n).join('.'));
    if (s) {
      from = s;
      break;
    }
  }
  const value = path.reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], raw);
  const shown = typeof value === 'object' || value === undefined ? '' : `=${show(path, value)}`;
  // a bad record key carries the key schema's own message one level down
  const message = issue.code === 'invalid_key' ? (issue.issues[0]?.message ?? issue.message) : issue.message;
  return `${name || '(root)'}${shown} (${from}): ${message}`;
}

function show(path: string[], value: unknown): string {
  const last = path[path.length - 1] ?? '';
  if (SECRET.test(last)) return '[redacted]';
  if (typeof value !== 'string') return String(value);
  // A database URL may carry a password; show where it points, never who logs in.
  const shown = last === 'databaseUrl' ? value.replace(/\/\/[^@/]*@/, '//***@') : value;
  return JSON.stringify(shown.length > 80 ? `${shown.slice(0, 80)}…` : shown);
}

function deepFreeze<T>(value: T): DeepReadonly<T> {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value as DeepReadonly<T>;
}
