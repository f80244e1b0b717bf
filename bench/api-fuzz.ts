import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ActionDefinition } from '../src/api/action.ts';
import { actions as allActions } from '../src/api/actions/index.ts';
import type { ParamSpec, ScalarSpec } from '../src/api/params/spec.ts';
import { type HttpRequest, type SignOptions, signRequest } from '../src/api/signing/sign-request.ts';
import type { ServiceDeps } from '../src/backup/service-deps.ts';

// A fuzz of the API edge: random and mutated requests, validly signed (so parsing and the actions
// are reached) and not, against the real service (SQLite, embedded worker, fs store) in a child
// process, so a crash shows as its exit and its memory is its own. Every answer must be below 500
// and, when an error, Alibaba's envelope with a Code; the service must keep answering throughout.
// Request i is generated from (seed, i) alone: a failure reproduces with the seed and its index.
//
//   npx tsx bench/api-fuzz.ts [requests] [seed] [from]   the table for one run (default 100,000
//                                                        requests; FUZZ_CONCURRENCY, default 8)
//   test/api-fuzz.test.ts                          5,000 requests in `npm test`

const SELF = fileURLToPath(import.meta.url);

// ---------------------------------------------------------------------------------------------
// the service under test (child process)

/** What the fuzz knows about the service it hits; printed by `--serve` as one JSON line. */
export interface FuzzTarget {
  url: string;
  key: { accessKeyId: string; accessKeySecret: string };
  /** a key of another account, which must see none of the first one's resources */
  otherKey: { accessKeyId: string; accessKeySecret: string };
  pid: number;
}

// more phones than the worker runs tasks at once (4): the others' tasks wait, and their queues can fill up
const INSTANCES = Array.from({ length: 12 }, (_, i) => `acp-fuzz${i}`);
const OTHER_INSTANCE = 'acp-fuzzother';
// restorable backup files (a RecoverApp makes its file RECOVERING for a while), and one being written
const FILES = Array.from({ length: 10 }, (_, i) => `bf-fuzz${i}`);
const BUSY_FILE = 'bf-fuzzbusy';
const FUZZ_ENDPOINT = 'oss-fuzz.local';

/**
 * `--serve`: the stack of test/helpers/stack.ts without phones. The instances point at a port that
 * accepts connections and never answers, so each task holds its phone until the ADB connect times
 * out: queues build up as they would behind slow phones, and the per-phone cap is reached.
 */
async function serve(): Promise<void> {
  const { startStack } = await import('../test/helpers/stack.ts');
  const held = new Set<Socket>();
  const silent = createServer((socket) => {
    held.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => held.delete(socket));
  });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  // FUZZ_DATABASE_URL (postgres://…/any): the metadata in a fresh PostgreSQL database next to it
  const pgDatabase = process.env.FUZZ_DATABASE_URL ? await createDatabase(process.env.FUZZ_DATABASE_URL) : undefined;
  const stack = await startStack({
    phones: 0,
    configFile: { adb: { connectTimeoutMs: 2000 }, ...(pgDatabase ? { databaseUrl: pgDatabase.url } : {}) },
  });
  const db = stack.service.db;
  const otherKey = await db.accounts.createKey('other');
  const facts = {
    adbAddress: `127.0.0.1:${(silent.address() as AddressInfo).port}`,
    imageId: 'img-test',
    imageVersion: '1.0',
    imageType: 'custom' as const,
    instanceType: 'cpm.gx7.10xlarge',
    androidVersion: '14',
    sdk: 34,
    abi: 'arm64-v8a',
    fingerprint: 'fuzz/fingerprint',
  };
  for (const id of INSTANCES) await db.instances.add({ ...facts, id, account: 'default', name: `fuzz ${id}` });
  await db.instances.add({ ...facts, id: OTHER_INSTANCE, account: 'other', name: 'other' });
  for (const id of [...FILES, BUSY_FILE]) {
    await db.backupFiles.create({
      id,
      account: 'default',
      instanceId: INSTANCES[0] as string,
      instanceName: 'fuzz',
      name: `${id}.tar.zst`,
      description: 'seeded by the fuzz',
      path: 'oss://fuzz-bucket/seed/',
      endpoint: FUZZ_ENDPOINT,
      bucket: 'fuzz-bucket',
      objectKey: `seed/${id}.tar.zst`,
      apps: ['com.example.notes'],
      status: id === BUSY_FILE ? 'BACKUPING' : 'AVAILABLE',
    });
  }
  const target: FuzzTarget = { url: stack.url, key: stack.key, otherKey, pid: process.pid };
  process.stdout.write(`${JSON.stringify({ fuzzTarget: target })}\n`);
  const stop = async () => {
    for (const socket of held) socket.destroy();
    silent.close();
    await stack.close();
    await pgDatabase?.drop();
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.stdin.once('end', stop);
  process.stdin.resume();
}

async function createDatabase(admin: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const { default: pg } = await import('pg');
  const name = `cpb_fuzz_${process.pid}_${Date.now()}`;
  const run = async (sql: string) => {
    const client = new pg.Client({ connectionString: admin });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await run(`CREATE DATABASE ${name}`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

export interface ServedTarget extends FuzzTarget {
  child: ChildProcess;
  /** error-level log lines of the service (5xx causes), at most 50 */
  errorLogs: string[];
  /** why the child exited, once it has */
  exited: () => string | null;
  close(): Promise<void>;
}

/** Starts the service in a child process (`tsx bench/api-fuzz.ts --serve`). */
export async function startTarget(opts: { databaseUrl?: string } = {}): Promise<ServedTarget> {
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'error' };
  if (opts.databaseUrl) env.FUZZ_DATABASE_URL = opts.databaseUrl;
  const child = spawn(process.execPath, ['--import', 'tsx', SELF, '--serve'], {
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const errorLogs: string[] = [];
  let exit: string | null = null;
  child.on('exit', (code, signal) => {
    exit = `the service exited (code ${code}, signal ${signal})`;
  });
  const keep = (line: string) => {
    if (line.trim() && errorLogs.length < 50) errorLogs.push(line.slice(0, 4000));
  };
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
    const lines = stderr.split('\n');
    stderr = lines.pop() ?? '';
    lines.forEach(keep);
  });
  const target = await new Promise<FuzzTarget>((resolveTarget, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('the fuzz service did not start in 60 s')), 60_000);
    child.on('exit', () => reject(new Error(`${exit}: ${errorLogs.join('\n')}`)));
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const lines = out.split('\n');
      out = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith('{"fuzzTarget"')) {
          clearTimeout(timer);
          resolveTarget((JSON.parse(line) as { fuzzTarget: FuzzTarget }).fuzzTarget);
        } else keep(line);
      }
    });
  });
  return {
    ...target,
    child,
    errorLogs,
    exited: () => exit,
    async close() {
      if (exit) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([gone, new Promise((r) => setTimeout(r, 10_000))]);
      if (!exit) child.kill('SIGKILL');
    },
  };
}

/** VmRSS and VmHWM of a process, in MiB (0 when it is gone). */
export function memoryOf(pid: number): { rss: number; peak: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
    return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
  } catch {
    return { rss: 0, peak: 0 };
  }
}

// ---------------------------------------------------------------------------------------------
// randomness

/** mulberry32: small, fast, and the same on every platform. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Rng {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  range(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
  hex(n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += '0123456789abcdef'[this.int(16)];
    return s;
  }
  text(length: number, alphabet = ALPHABETS[this.int(ALPHABETS.length)] as string): string {
    const chars = [...alphabet];
    let s = '';
    for (let i = 0; i < length; i++) s += chars[this.int(chars.length)];
    return s;
  }
}

const ALPHABETS = [
  'abcdefghijklmnopqrstuvwxyz',
  'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.',
  '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~ ',
  '漢字テスト한국어😀🚀é\u00a0\u200b\ufeff\ufffd',
  '\u0000\u0001\t\n\r\u001f\u007f',
  '%&=+;#?',
];

/** Request i's generator, from the seed and i alone. */
function rngFor(seed: number, i: number): Rng {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(i + 1, 0xc2b2ae35);
  h ^= h >>> 16;
  return new Rng(h >>> 0);
}

// ---------------------------------------------------------------------------------------------
// requests

const ACTIONS: ActionDefinition[] = allActions({} as ServiceDeps);
const UNKNOWN_ACTIONS = [
  'Nope',
  'backupapp',
  'BACKUPAPP',
  'BackupApp ',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  'DescribeRegions',
  'A'.repeat(300),
  '漢字',
];

/** Valid values four times as often as the invalid ones next to them, so calls get past validation. */
const mostly = (valid: readonly string[], invalid: readonly string[]): readonly string[] => {
  const pool = [...valid, ...valid, ...valid, ...valid, ...invalid];
  VALID.set(pool, valid);
  return pool;
};
/** The valid part of each pool, for clean calls. */
const VALID = new WeakMap<readonly string[], readonly string[]>();

/** Values that are valid, or nearly so, by parameter name. */
const POOLS: Record<string, readonly string[]> = {
  instance: mostly(INSTANCES, [OTHER_INSTANCE, 'acp-missing', 'ACP-FUZZ0', 'acp_fuzz0']),
  SourceAppList: mostly(
    ['com.example.notes', 'com.example.gallery', 'com.android.chrome'],
    ['a.b', 'com.example', 'A.B'],
  ),
  BackupFilePath: mostly(
    ['oss://fuzz-bucket/dir/', 'oss://fuzz-bucket/', 'oss://fuzz-bucket/a/b/c/'],
    [
      'oss://Bad_Bucket/x/',
      'oss://fuzz-bucket/a/../b/',
      'oss://fuzz-bucket/noslash',
      'oss://fuzz-bucket/.cpb-tmp-x/',
      'oss://fuzz-bucket//',
      'https://fuzz-bucket/dir/',
      'oss://fuzz-bucket/seed/',
    ],
  ),
  UploadEndpoint: mostly([FUZZ_ENDPOINT, 'OSS-FUZZ.LOCAL'], ['oss-cn-hangzhou.aliyuncs.com', 'a:99999', 'a..b', '-x']),
  BackupFileName: mostly(['nightly', 'a.b-c_d', 'x'.repeat(100)], ['-bad', 'x'.repeat(101), '..']),
  file: mostly(FILES, [BUSY_FILE, 'bf-missing', 'bf-other', 'BF-FUZZ0']),
  task: ['t-missing', 't-abc123', 't-0', 'T-X'],
  time: mostly(
    ['2024-02-29 00:00:00', '2026-01-01 00:00:00', '2099-12-31 23:59:59', '0000-01-01 00:00:00'],
    [
      '2026-13-01 00:00:00',
      '2026-02-30 00:00:00',
      '2026-01-01 24:00:00',
      '2026-01-01 23:59:60',
      '2026-00-00 00:00:00',
      '9999-99-99 99:99:99',
      '2026-01-01T00:00:00Z',
      '2026-1-1 0:0:0',
      '+02026-01-01 00:00:00',
      '1767225600',
    ],
  ),
  NextToken: [
    '',
    Buffer.from(JSON.stringify(['2026-01-01T00:00:00.000Z', 'x'])).toString('base64url'),
    Buffer.from(JSON.stringify(['2026-13-01T00:00:00.000Z', 'x'])).toString('base64url'),
    Buffer.from(JSON.stringify(['9999-12-31T23:59:59.999Z', '\u0000'])).toString('base64url'),
    Buffer.from('{"__proto__":1}').toString('base64url'),
    'not a token',
    '%%%',
  ],
};

function poolFor(name: string): readonly string[] | undefined {
  if (/AndroidInstanceId|^InstanceId$/.test(name)) return POOLS.instance;
  if (/BackupFileId/.test(name)) return POOLS.file;
  if (/TaskId/.test(name)) return POOLS.task;
  if (/Time$/.test(name)) return POOLS.time;
  return POOLS[name];
}

/** A value for one parameter; `clean`: one the spec accepts, as far as the fuzz knows. */
function scalarValue(rng: Rng, name: string, spec: ScalarSpec, clean: boolean): string {
  const pool = poolFor(name);
  if (pool && clean) return rng.pick(VALID.get(pool) ?? pool);
  if (pool && rng.chance(0.9)) return rng.pick(pool);
  switch (spec.kind) {
    case 'string':
      if (spec.enum && (clean || rng.chance(0.85))) return rng.pick(spec.enum);
      return clean ? rng.text(rng.range(1, 12), 'abcdefghij') : rng.text(rng.range(1, 24));
    case 'integer': {
      const min = spec.min ?? -5;
      const max = spec.max ?? 1000;
      return String(clean || rng.chance(0.85) ? rng.range(min, max) : rng.pick([min - 1, max + 1, 0, -1]));
    }
    case 'boolean':
      return rng.pick(['true', 'false']);
    case 'time':
      return rng.pick(POOLS.time as readonly string[]);
  }
}

type Pairs = [string, string][];

function validParams(rng: Rng, specs: Readonly<Record<string, ParamSpec>>, clean: boolean): Pairs {
  const out: Pairs = [];
  for (const [name, spec] of Object.entries(specs)) {
    if (!rng.chance(clean ? (spec.required ? 1 : 0.2) : spec.required ? 0.92 : 0.35)) continue;
    // RecoverApp's optional path must name the file's own: a clean call leaves it out
    if (clean && !spec.required && name === 'BackupFilePath') continue;
    if (spec.kind === 'stringList') {
      const n = rng.range(1, 3);
      // mostly distinct items: a list naming an instance twice is refused before anything else
      const items = new Set<string>();
      for (let tries = 0; items.size < n && tries < 10; tries++) items.add(scalarValue(rng, name, spec.item, clean));
      if (!clean && rng.chance(0.1)) items.add(scalarValue(rng, name, spec.item, clean));
      const list = [...items];
      if (list.length === 1 && rng.chance(0.2)) out.push([name, list[0] as string]);
      else for (const [i, v] of list.entries()) out.push([`${name}.${i + 1}`, v]);
    } else if (spec.kind === 'objectList') {
      for (let i = 1; i <= rng.range(1, 2); i++) {
        for (const [field, fs] of Object.entries(spec.fields))
          out.push([`${name}.${i}.${field}`, scalarValue(rng, field, fs, clean)]);
      }
    } else {
      out.push([name, scalarValue(rng, name, spec, clean)]);
    }
  }
  return out;
}

const HUGE_INDEXES = [
  '99999999',
  '999999999',
  '1000000000',
  '4294967297',
  '0',
  '-1',
  '01',
  '1.5',
  'x',
  '',
  '1e3',
  ' 1',
];
const WRONG_TYPES = ['abc', '1e3', '-0', '99999999999999999999', ' 1', '0x10', 'TRUE', '1', 'yes', 'null', '[]', '{}'];
const ODD_NAMES = [
  'constructor',
  '__proto__',
  'hasOwnProperty',
  'Action.1',
  'Version.1',
  '',
  '.',
  '..1',
  'a'.repeat(500),
];

/** Parameter-level mutations, applied before signing (so a valid signature still covers them). */
const PARAM_MUTATIONS: Record<string, (rng: Rng, pairs: Pairs, specs: Readonly<Record<string, ParamSpec>>) => void> = {
  longValue(rng, pairs, specs) {
    const name = rng.pick([...Object.keys(specs), 'Unspecified']);
    pairs.push([name, rng.text(rng.pick([257, 1025, 1100, 5000, 20_000]))]);
  },
  hugeIndex(rng, pairs, specs) {
    const name = rng.pick([...Object.keys(specs), 'AndroidInstanceIdList']);
    pairs.push([`${name}.${rng.pick(HUGE_INDEXES)}`, rng.pick(POOLS.instance as readonly string[])]);
  },
  manyItems(rng, pairs, specs) {
    const lists = Object.keys(specs).filter((n) => specs[n]?.kind === 'stringList');
    const name = lists.length ? rng.pick(lists) : 'Items';
    const n = rng.pick([100, 101, 500, 2000]);
    for (let i = 1; i <= n; i++) pairs.push([`${name}.${i}`, rng.pick(POOLS.instance as readonly string[])]);
  },
  sparseList(rng, pairs, specs) {
    const lists = Object.keys(specs).filter((n) => specs[n]?.kind === 'stringList');
    const name = lists.length ? rng.pick(lists) : 'Items';
    for (const i of [1, 3, 7, 100])
      pairs.push([`${name}.${i}`, rng.chance(0.3) ? '' : rng.pick(POOLS.instance as readonly string[])]);
  },
  bareAndKeyed(rng, pairs, specs) {
    const lists = Object.keys(specs).filter((n) => specs[n]?.kind === 'stringList');
    const name = lists.length ? rng.pick(lists) : 'Items';
    pairs.push([name, 'acp-fuzz0'], [`${name}.1`, 'acp-fuzz1']);
  },
  objectKeyOnList(rng, pairs, specs) {
    const name = rng.pick(Object.keys(specs).length ? Object.keys(specs) : ['X']);
    pairs.push([`${name}.1.Key`, 'k'], [`${name}.1.1`, 'v']);
  },
  wrongType(rng, pairs, specs) {
    const name = rng.pick(Object.keys(specs).length ? Object.keys(specs) : ['MaxResults']);
    const spec = specs[name];
    pairs.push([spec?.kind === 'stringList' ? `${name}.1` : name, rng.pick(WRONG_TYPES)]);
  },
  oddText(rng, pairs, specs) {
    const name = rng.pick(Object.keys(specs).length ? Object.keys(specs) : ['Description']);
    const spec = specs[name];
    const value = rng.pick([
      '\u0000',
      'a\u0000b',
      '\r\n',
      '%zz',
      '%',
      '+',
      '&',
      '=',
      '😀'.repeat(300),
      '\ufffd',
      ' ',
      '',
    ]);
    pairs.push([spec?.kind === 'stringList' ? `${name}.1` : name, value]);
  },
  oddName(rng, pairs) {
    pairs.push([rng.pick(ODD_NAMES), rng.text(5)]);
  },
  drop(rng, pairs) {
    if (pairs.length) pairs.splice(rng.int(pairs.length), 1);
  },
};

interface Wire {
  method: string;
  /** path and query, as sent */
  target: string;
  headers: [string, string][];
  body?: Buffer;
  /** use a raw socket: what node:http would refuse to send, or a framing of our own */
  raw?: Buffer;
  chunked?: boolean;
}

interface FuzzCase {
  i: number;
  action: string;
  tags: string[];
  wire: Wire;
}

function toWire(req: HttpRequest): Wire {
  const url = new URL(req.url);
  return {
    method: req.method,
    target: `${url.pathname}${url.search}`,
    headers: Object.entries(req.headers),
    body: req.body === undefined ? undefined : Buffer.from(req.body),
  };
}

function setHeader(wire: Wire, name: string, value: string | undefined): void {
  wire.headers = wire.headers.filter(([k]) => k.toLowerCase() !== name);
  if (value !== undefined) wire.headers.push([name, value]);
}

/** Wire-level mutations, after signing: most of them break the signature, on purpose. */
const WIRE_MUTATIONS: Record<string, (rng: Rng, wire: Wire) => void> = {
  duplicateParam(rng, wire) {
    const q = wire.target.indexOf('?');
    const query = q < 0 ? '' : wire.target.slice(q + 1);
    const pairs = query.split('&').filter(Boolean);
    const dup = pairs.length ? rng.pick(pairs) : 'Action=Nope';
    if (wire.body && rng.chance(0.5)) wire.body = Buffer.concat([wire.body, Buffer.from(`&${dup}`)]);
    else wire.target += `${q < 0 ? '?' : '&'}${dup}`;
  },
  badPercent(rng, wire) {
    const bad = rng.pick([
      '%',
      '%z',
      '%zz',
      '%G1',
      '%%',
      '%0',
      '%u0041',
      '%E0%A4',
      '%FF',
      '%C0%AF',
      '%ED%A0%80',
      '%00',
    ]);
    wire.target += `${wire.target.includes('?') ? '&' : '?'}${rng.pick(['X', 'Description', bad])}=${bad}`;
  },
  signedInvalidUtf8(rng, wire) {
    // U+FFFD in a signed value, sent as a byte that is not UTF-8: the server decodes it back to
    // U+FFFD, so the signature still holds and the invalid byte reaches the action's parameters
    const bad = () => rng.pick(['%FF', '%80', '%FE', '%C0']);
    wire.target = wire.target.replace(/%EF%BF%BD/g, bad);
    if (wire.body && !wire.headers.some(([k]) => k === 'authorization')) {
      wire.body = Buffer.from(wire.body.toString('latin1').replace(/%EF%BF%BD/g, bad), 'latin1');
    }
  },
  rawBytes(rng, wire) {
    // latin1 characters reach the socket as single bytes: invalid UTF-8 in the URL
    const bytes = rng.pick(['\u00ff\u00fe', '\u00c3\u0028', '\u00e6\u00bc\u00a2', '\u0080', '\u00ed\u00a0\u0080']);
    wire.target += `${wire.target.includes('?') ? '&' : '?'}Description=${bytes}`;
  },
  invalidUtf8Body(rng, wire) {
    const bytes = Buffer.from(
      rng.pick([[0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0x00]]),
    );
    wire.body = Buffer.concat([wire.body ?? Buffer.alloc(0), Buffer.from('&Description=a'), bytes]);
    setHeader(wire, 'content-type', 'application/x-www-form-urlencoded');
  },
  method(rng, wire) {
    wire.method = rng.pick(['PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'TRACE', 'get', 'CONNECT']);
    if (wire.method === 'get' || wire.method === 'CONNECT') wire.raw = Buffer.alloc(0);
  },
  path(rng, wire) {
    const q = wire.target.indexOf('?');
    const query = q < 0 ? '' : wire.target.slice(q);
    wire.target = `${rng.pick(['/x', '//', '/%zz', '/%00', '/..', '/./', '/?/', '/index.html', '/;', '/%2F'])}${query}`;
  },
  contentType(rng, wire) {
    setHeader(
      wire,
      'content-type',
      rng.pick([
        'application/json',
        'text/plain',
        'multipart/form-data; boundary=x',
        'APPLICATION/X-WWW-FORM-URLENCODED',
        'application/x-www-form-urlencoded; charset=ISO-8859-1',
        'application/x-www-form-urlencoded;;;',
        '',
        undefined,
      ]),
    );
    if (!wire.body || rng.chance(0.5)) wire.body = Buffer.from('a=b');
    if (wire.method === 'GET' && rng.chance(0.5)) wire.method = 'POST';
  },
  bigBody(rng, wire) {
    const size = rng.pick([1024 * 1024 + 1, 1024 * 1024 + 4096, 2 * 1024 * 1024]);
    wire.method = 'POST';
    wire.body = Buffer.alloc(size, 'a');
    wire.body.write('Text=');
    setHeader(wire, 'content-type', 'application/x-www-form-urlencoded');
    wire.chunked = rng.chance(0.3);
  },
  chunkedBody(_rng, wire) {
    wire.method = 'POST';
    wire.body ??= Buffer.from('a=b');
    setHeader(wire, 'content-type', 'application/x-www-form-urlencoded');
    wire.chunked = true;
  },
  longUrl(rng, wire) {
    wire.target += `${wire.target.includes('?') ? '&' : '?'}Pad=${'p'.repeat(rng.pick([40_000, 66_000, 100_000, 300_000]))}`;
  },
  manyHeaders(rng, wire) {
    const n = rng.pick([50, 200, 2000]);
    for (let i = 0; i < n; i++) wire.headers.push([`x-fuzz-${i}`, 'h'.repeat(rng.pick([10, 400]))]);
  },
  oddHeaders(rng, wire) {
    const pick = rng.pick([
      ['x-acs-action', rng.pick(['Nope', '', 'BackupApp', 'A'.repeat(300)])],
      ['x-acs-version', rng.pick(['2014-05-26', '', '2023-09-30'])],
      [
        'authorization',
        rng.pick([
          'ACS3-HMAC-SHA256',
          'ACS3-HMAC-SHA256 ',
          'ACS3-HMAC-SHA256 Credential=,SignedHeaders=,Signature=',
          'Bearer x',
          'ACS3-HMAC-SHA256 Credential=a,SignedHeaders=host;;;x-acs-date,Signature=00',
        ]),
      ],
      ['x-acs-date', rng.pick(['', 'yesterday', '2026-13-01T00:00:00Z', '9999-12-31T23:59:59Z'])],
      ['x-acs-content-sha256', rng.pick(['', 'UNSIGNED-PAYLOAD', 'zz'])],
      ['x-acs-security-token', 'sts'],
      ['host', rng.pick(['', 'evil.example', 'a'.repeat(300), '\u00ff'])],
      ['content-length', rng.pick(['abc', '-1', '1, 2', '0x10', '1 1'])],
      ['transfer-encoding', rng.pick(['gzip', 'chunked, gzip', 'identity'])],
      ['expect', '100-continue'],
      ['x-latin1', '\u00ff\u00fe\u00e9'],
    ] as [string, string][]);
    setHeader(wire, pick[0], pick[1]);
    if (pick[0] === 'content-length' || pick[0] === 'transfer-encoding' || pick[0] === 'host')
      wire.raw = Buffer.alloc(0);
  },
  garbage(rng, wire) {
    const line = rng.pick([
      `G\u0001T / HTTP/1.1`,
      'GET / HTTP/9.9',
      'GET / HTTP/1.1 extra',
      'GET  / HTTP/1.1',
      'GET /\u0001 HTTP/1.1',
      `${rng.text(8, 'abcdefgh')} / HTTP/1.1`,
      'GET http://evil.example/?Action=Nope HTTP/1.1',
      'GET * HTTP/1.1',
      'PRI * HTTP/2.0',
      '\u0016\u0003\u0001\u0002\u0000\u0001',
      'GET / HTTP/1.0',
    ]);
    const head = `${line}\r\nHost: x\r\n${rng.chance(0.3) ? 'Bad Header: x\r\n' : ''}${rng.chance(0.2) ? ' folded\r\n' : ''}Connection: close\r\n\r\n`;
    wire.raw = Buffer.from(head, 'latin1');
  },
};

/** One request: an action (or not), its parameters, a signature (or not), mutations. */
export function generate(target: FuzzTarget, seed: number, i: number): FuzzCase {
  const rng = rngFor(seed, i);
  // one call in six is clean: a known action, valid values, signed, unmutated, so the actions'
  // own paths (the tasks they queue, the per-phone cap, deletes) are reached often enough
  const clean = rng.chance(1 / 6);
  const known = clean || rng.chance(0.85);
  const def = known ? rng.pick(ACTIONS) : undefined;
  const action = def?.name ?? rng.pick(UNKNOWN_ACTIONS);
  const tags: string[] = clean ? ['clean'] : [];
  const params = def ? validParams(rng, def.params, clean) : [];
  const specs = def?.params ?? {};
  const nParam = !clean && rng.chance(0.45) ? rng.range(1, 3) : 0;
  for (let k = 0; k < nParam; k++) {
    const name = rng.pick(Object.keys(PARAM_MUTATIONS));
    tags.push(name);
    PARAM_MUTATIONS[name]?.(rng, params, specs);
  }
  // the signer takes a record: duplicated names collapse here and are made again on the wire
  const record: Record<string, string> = {};
  for (const [k, v] of params) {
    if (!/^(Action|Version|Signature.*|AccessKeyId|Timestamp|Format)$/.test(k)) record[k] = v;
  }
  const signature = rng.chance(0.5) ? 'v1' : 'v3';
  const method = rng.chance(0.6) ? 'POST' : 'GET';
  const over: Partial<SignOptions> = {
    signature,
    method,
    form: method === 'POST' && rng.chance(0.4),
    nonce: rng.hex(32),
  };
  const auth = clean ? 1 : rng.next();
  let key = target.key;
  if (auth < 0.05) {
    key = target.otherKey;
    tags.push('otherAccount');
  } else if (auth < 0.09) {
    key = { ...target.key, accessKeySecret: 'wrong' };
    tags.push('wrongSecret');
  } else if (auth < 0.11) {
    key = { accessKeyId: rng.pick(['nobody', '', 'LTAI'.repeat(100), '\u00e9']), accessKeySecret: 'x' };
    tags.push('unknownKey');
  } else if (auth < 0.14) {
    over.now = new Date(Date.now() + rng.pick([-1, 1]) * rng.range(16, 10_000) * 60_000);
    tags.push('skewed');
  } else if (auth < 0.16) {
    over.version = rng.pick(['2014-05-26', '', '2023-09-30 ', '2023-9-30']);
    tags.push('version');
  }
  let wire: Wire;
  try {
    wire = toWire(signRequest({ endpoint: target.url, action, params: record, ...key, ...over } as SignOptions));
  } catch {
    // a value the signer cannot encode (a lone surrogate): send it unsigned
    wire = { method: 'GET', target: `/?Action=${encodeURIComponent(action)}`, headers: [] };
    tags.push('unsignable');
  }
  if (auth >= 0.16 && auth < 0.24) {
    tags.push('unsigned');
    wire = stripSignature(rng, wire);
  }
  const nWire = !clean && rng.chance(0.3) ? rng.range(1, 2) : 0;
  for (let k = 0; k < nWire; k++) {
    const name = rng.pick(Object.keys(WIRE_MUTATIONS));
    tags.push(name);
    WIRE_MUTATIONS[name]?.(rng, wire);
  }
  if (!wire.headers.some(([k]) => k.toLowerCase() === 'host')) wire.headers.push(['host', new URL(target.url).host]);
  return { i, action, tags, wire };
}

function stripSignature(rng: Rng, wire: Wire): Wire {
  const q = wire.target.indexOf('?');
  const query = new URLSearchParams(q < 0 ? '' : wire.target.slice(q + 1));
  const drop = rng.pick([
    ['Signature'],
    ['Signature', 'SignatureNonce'],
    ['AccessKeyId'],
    ['Timestamp'],
    ['SignatureMethod'],
  ]);
  for (const name of drop) query.delete(name);
  if (rng.chance(0.5)) query.set('Signature', rng.pick(['', 'AAAA', '\u00e9', 'x'.repeat(1000)]));
  const headers = rng.chance(0.5) ? wire.headers.filter(([k]) => k !== 'authorization') : wire.headers;
  return { ...wire, target: `/?${query}`, headers };
}

// ---------------------------------------------------------------------------------------------
// sending and checking

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const ANSWER_TIMEOUT_MS = 15_000;

function sendHttp(agent: Agent, base: URL, wire: Wire): Promise<Answer> {
  return new Promise((resolveAnswer, reject) => {
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of wire.headers) {
      const prior = headers[k];
      headers[k] = prior === undefined ? v : [...(Array.isArray(prior) ? prior : [prior]), v];
    }
    if (wire.body && !wire.chunked) headers['content-length'] = String(wire.body.length);
    // said explicitly: for GET and HEAD node:http would otherwise write the body unframed
    if (wire.body && wire.chunked) headers['transfer-encoding'] = 'chunked';
    const req = httpRequest(
      { host: base.hostname, port: base.port, method: wire.method, path: wire.target, headers, agent, setHost: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolveAnswer({
            status: res.statusCode ?? 0,
            headers: Object.fromEntries(Object.entries(res.headers).map(([k, v]) => [k, String(v)])),
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.setTimeout(ANSWER_TIMEOUT_MS, () => req.destroy(new Error('no answer in time')));
    // a refused upload may be cut short once the answer is in: that is fine, the answer counts
    req.on('error', reject);
    if (wire.body && wire.chunked) {
      for (let at = 0; at < wire.body.length; at += 256 * 1024) req.write(wire.body.subarray(at, at + 256 * 1024));
      req.end();
    } else req.end(wire.body);
  });
}

function rawBytes(base: URL, wire: Wire): Buffer {
  if (wire.raw && wire.raw.length > 0) return wire.raw;
  const body = wire.body ?? Buffer.alloc(0);
  const lines = [`${wire.method} ${wire.target} HTTP/1.1`, ...wire.headers.map(([k, v]) => `${k}: ${v}`)];
  const has = (name: string) => wire.headers.some(([k]) => k.toLowerCase() === name);
  if (!has('host')) lines.push(`host: ${base.host}`);
  if (!has('content-length') && !has('transfer-encoding')) lines.push(`content-length: ${body.length}`);
  lines.push('connection: close');
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body]);
}

/** A raw exchange: the bytes, then the first answer, read until the server closes or it is whole. */
function sendRaw(base: URL, wire: Wire): Promise<Answer> {
  const data = rawBytes(base, wire);
  return new Promise((resolveAnswer, reject) => {
    const socket = connect(Number(base.port), base.hostname);
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      socket.destroy();
      const parsed = parseAnswer(Buffer.concat(chunks));
      if (parsed) resolveAnswer(parsed);
      else reject(err ?? new Error(`no answer (${Buffer.concat(chunks).length} bytes before the close)`));
    };
    socket.on('connect', () => socket.write(data));
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      const parsed = parseAnswer(Buffer.concat(chunks));
      if (parsed?.complete) finish();
    });
    socket.on('error', (err) => finish(err));
    socket.on('close', () => finish());
    socket.setTimeout(ANSWER_TIMEOUT_MS, () => finish(new Error('no answer in time')));
  });
}

function parseAnswer(all: Buffer): (Answer & { complete: boolean }) | null {
  // interim answers (100 Continue) come before the one that counts
  let bytes = all;
  while (/^HTTP\/1\.[01] 1\d\d /.test(bytes.subarray(0, 13).toString('latin1'))) {
    const interim = bytes.indexOf('\r\n\r\n');
    if (interim < 0) return null;
    bytes = bytes.subarray(interim + 4);
  }
  const end = bytes.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const [statusLine = '', ...lines] = bytes.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
  if (!m) return null;
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const length = Number(headers['content-length'] ?? Number.NaN);
  const body = bytes.subarray(end + 4);
  const complete = Number.isFinite(length) && body.length >= length;
  return {
    status: Number(m[1]),
    headers,
    body: (complete ? body.subarray(0, length) : body).toString('utf8'),
    complete,
  };
}

const ENVELOPE_KEYS = ['Code', 'HostId', 'Message', 'Recommend', 'RequestId'];

/** What is wrong with an answer, or null; and the Code to count it under. */
function check(c: FuzzCase, a: Answer): { code: string; problem: string | null } {
  if (c.wire.method === 'HEAD') return { code: '(HEAD)', problem: a.status >= 500 ? `HTTP ${a.status}` : null };
  let body: unknown;
  try {
    body = JSON.parse(a.body);
  } catch {
    return { code: '(not JSON)', problem: `HTTP ${a.status} with a body that is not JSON: ${a.body.slice(0, 200)}` };
  }
  const obj = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const code = typeof obj.Code === 'string' ? obj.Code : a.status === 200 ? 'OK' : '(no Code)';
  if (a.status >= 500) return { code, problem: `HTTP ${a.status} ${JSON.stringify(obj).slice(0, 300)}` };
  if (a.status >= 400) {
    const keys = Object.keys(obj).sort();
    const strings = ENVELOPE_KEYS.every((k) => typeof obj[k] === 'string');
    if (keys.join() !== ENVELOPE_KEYS.join() || !strings || !obj.Code) {
      return { code, problem: `HTTP ${a.status}: not the envelope: ${JSON.stringify(obj).slice(0, 300)}` };
    }
    return { code, problem: null };
  }
  if (a.status !== 200) return { code, problem: `unexpected HTTP ${a.status}` };
  if (typeof obj.RequestId !== 'string' || 'Code' in obj) {
    return { code, problem: `a success body without RequestId or with a Code: ${a.body.slice(0, 200)}` };
  }
  return { code, problem: null };
}

export interface Failure {
  i: number;
  action: string;
  tags: string[];
  problem: string;
  request: string;
}

export interface FuzzReport {
  seed: number;
  requests: number;
  seconds: number;
  byStatus: Map<number, number>;
  /** `status Code` → count */
  byCode: Map<string, number>;
  /** action → `Code` → count, for the known actions */
  byAction: Map<string, Map<string, number>>;
  failures: Failure[];
  failureCount: number;
  /** the service's resident memory in MiB: after warm-up, the highest sampled, at the end, and its high-water mark */
  rss: { start: number; max: number; end: number; peak: number };
  /** why the service stopped answering, if it did */
  died: string | null;
}

export interface FuzzOptions {
  requests: number;
  seed: number;
  /** the index of the first request (default 0): replays a stretch of a run */
  from?: number;
  concurrency?: number;
  /** progress lines */
  log?: (line: string) => void;
}

function describeRequest(wire: Wire, base: URL): string {
  const head = rawBytes(base, { ...wire, body: undefined }).toString('latin1');
  const text = `${head.slice(0, 600)}${head.length > 600 ? `… (${head.length} bytes of head)` : ''}`;
  const body = wire.body
    ? `\n[body ${wire.body.length} bytes${wire.chunked ? ', chunked' : ''}] ${wire.body.subarray(0, 200).toString('latin1')}`
    : '';
  return JSON.stringify(text + body);
}

/** A validly signed call that must succeed: the service is still there and still right. */
async function probe(target: FuzzTarget, agent: Agent, base: URL): Promise<string | null> {
  const wire = toWire(
    signRequest({
      endpoint: target.url,
      action: 'DescribeAndroidInstances',
      params: {},
      ...target.key,
      signature: 'v3',
    }),
  );
  try {
    const a = await sendHttp(agent, base, wire);
    const body = JSON.parse(a.body) as { TotalCount?: number };
    return a.status === 200 && body.TotalCount === INSTANCES.length
      ? null
      : `probe: HTTP ${a.status} ${a.body.slice(0, 200)}`;
  } catch (err) {
    return `probe: ${(err as Error).message}`;
  }
}

export async function runFuzz(target: ServedTarget | FuzzTarget, opts: FuzzOptions): Promise<FuzzReport> {
  const base = new URL(target.url);
  const agent = new Agent({ keepAlive: true, maxSockets: opts.concurrency ?? 8 });
  const report: FuzzReport = {
    seed: opts.seed,
    requests: 0,
    seconds: 0,
    byStatus: new Map(),
    byCode: new Map(),
    byAction: new Map(),
    failures: [],
    failureCount: 0,
    rss: { start: 0, max: 0, end: 0, peak: 0 },
    died: null,
  };
  const exited = 'exited' in target ? target.exited : () => null;
  const fail = (f: Failure) => {
    report.failureCount++;
    if (report.failures.length < 20) report.failures.push(f);
  };
  const started = performance.now();
  let next = 0;
  let stop = false;
  const warmUp = await probe(target, agent, base);
  if (warmUp) throw new Error(`the service does not answer before the fuzz: ${warmUp}`);
  report.rss.start = memoryOf(target.pid).rss;
  const worker = async () => {
    while (!stop) {
      const i = (opts.from ?? 0) + next++;
      if (i >= (opts.from ?? 0) + opts.requests) return;
      const c = generate(target, opts.seed, i);
      const raw = c.wire.raw !== undefined;
      let answer: Answer;
      try {
        answer = raw ? await sendRaw(base, c.wire) : await sendHttp(agent, base, c.wire);
      } catch (err) {
        const code = (err as { code?: string }).code;
        // node:http refuses to send some of what the fuzz makes: those go out as raw bytes
        if (!raw && /^ERR_(INVALID|UNESCAPED|HTTP_INVALID)/.test(code ?? '')) {
          try {
            answer = await sendRaw(base, c.wire);
          } catch (rawErr) {
            fail({ ...c, problem: `no answer: ${(rawErr as Error).message}`, request: describeRequest(c.wire, base) });
            continue;
          }
        } else {
          fail({ ...c, problem: `no answer: ${(err as Error).message}`, request: describeRequest(c.wire, base) });
          continue;
        }
      } finally {
        report.requests++;
      }
      report.byStatus.set(answer.status, (report.byStatus.get(answer.status) ?? 0) + 1);
      const { code, problem } = check(c, answer);
      const key = `${answer.status} ${code}`;
      report.byCode.set(key, (report.byCode.get(key) ?? 0) + 1);
      if (ACTIONS.some((a) => a.name === c.action)) {
        const codes = report.byAction.get(c.action) ?? new Map<string, number>();
        codes.set(code, (codes.get(code) ?? 0) + 1);
        report.byAction.set(c.action, codes);
      }
      if (problem) fail({ ...c, problem, request: describeRequest(c.wire, base) });
      if (i > 0 && i % 500 === 0) {
        const mem = memoryOf(target.pid);
        report.rss.max = Math.max(report.rss.max, mem.rss);
        const dead = exited() ?? (await probe(target, agent, base));
        if (dead) {
          report.died = dead;
          stop = true;
        }
        if (i % 5000 === 0)
          opts.log?.(`fuzz: ${i} requests, ${report.failureCount} failures, service RSS ${mem.rss.toFixed(0)} MiB`);
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency ?? 8 }, worker));
  report.died ??= exited() ?? (await probe(target, agent, base));
  const mem = memoryOf(target.pid);
  report.rss.end = mem.rss;
  report.rss.peak = mem.peak;
  report.rss.max = Math.max(report.rss.max, mem.rss);
  report.seconds = (performance.now() - started) / 1000;
  agent.destroy();
  return report;
}

export function formatReport(r: FuzzReport): string {
  const rows = [...r.byCode.entries()].sort((a, b) => b[1] - a[1]);
  const statuses = [...r.byStatus.entries()].sort((a, b) => a[0] - b[0]);
  const lines = [
    `seed ${r.seed}: ${r.requests} requests in ${r.seconds.toFixed(1)} s (${Math.round(r.requests / r.seconds)}/s), ${r.failureCount} failures${r.died ? `, STOPPED ANSWERING: ${r.died}` : ''}`,
    `service RSS ${r.rss.start.toFixed(0)} MiB after warm-up, ${r.rss.max.toFixed(0)} MiB highest sampled, ${r.rss.end.toFixed(0)} MiB at the end, ${r.rss.peak.toFixed(0)} MiB high-water mark`,
    '',
    '| HTTP status | requests |',
    '| ---: | ---: |',
    ...statuses.map(([s, n]) => `| ${s} | ${n} |`),
    '',
    '| HTTP status | Code | requests |',
    '| ---: | --- | ---: |',
    ...rows.map(([k, n]) => {
      const [status, ...code] = k.split(' ');
      return `| ${status} | ${code.join(' ')} | ${n} |`;
    }),
  ];
  lines.push('', '| Action | OK | most frequent refusals |', '| --- | ---: | --- |');
  for (const [action, codes] of [...r.byAction.entries()].sort()) {
    const refusals = [...codes.entries()]
      .filter(([code]) => code !== 'OK')
      .sort((a, b) => b[1] - a[1])
      .slice(0, 4)
      .map(([code, n]) => `${code} ${n}`);
    lines.push(`| ${action} | ${codes.get('OK') ?? 0} | ${refusals.join(', ')} |`);
  }
  for (const f of r.failures) {
    lines.push(
      '',
      `request ${f.i} (${f.action}; ${f.tags.join(', ') || 'no mutation'}): ${f.problem}`,
      `  ${f.request}`,
    );
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// entry points

/** `npm run bench`: 100,000 requests (BENCH_FUZZ_REQUESTS to change), one table. */
export async function run(requests = Number(process.env.BENCH_FUZZ_REQUESTS ?? 100_000), from = 0): Promise<string> {
  const seed = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
  const concurrency = Number(process.env.FUZZ_CONCURRENCY ?? 8);
  const target = await startTarget();
  try {
    const log = (l: string) => process.stderr.write(`${l}\n`);
    const report = await runFuzz(target, { requests, seed, from, concurrency, log });
    const logs = target.errorLogs.length ? `\n\nservice error log:\n${target.errorLogs.slice(0, 10).join('\n')}` : '';
    return `### API fuzz\n\n${requests} random and mutated requests (\`bench/api-fuzz.ts\`; reproduce with FUZZ_SEED=${seed}).\n\n${formatReport(report)}${logs}\n`;
  } finally {
    await target.close();
  }
}

if (process.argv[1] && resolve(process.argv[1]) === SELF) {
  if (process.argv.includes('--serve')) await serve();
  else {
    const [count, seed, from] = process.argv.slice(2);
    if (seed) process.env.FUZZ_SEED = seed;
    process.stdout.write(await run(count ? Number(count) : undefined, Number(from ?? 0)));
  }
}
