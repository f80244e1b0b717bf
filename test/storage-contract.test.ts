import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsObjectStore } from '../src/storage/fs-object-store.ts';
import { TEMP_PREFIX } from '../src/storage/object-key.ts';
import type { ObjectStore } from '../src/storage/object-store.ts';
import { S3ObjectStore } from '../src/storage/s3-object-store.ts';

// One contract, every driver (immich's itBehavesLikeADriver): the fs driver on a temp folder and the S3 driver
// on a real s3rver listening on a random local port.

interface Harness {
  store: ObjectStore;
  bucket: string;
  /** partial-upload artefacts a failed put must not leave: fs temp files, s3 multipart uploads */
  leftovers(): string[];
  /** most bytes a put may hold while streaming: buffering a 50 MiB object would exceed it */
  memoryBound: number;
  stop(): Promise<void>;
}

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const MiB = 1024 * 1024;

function fsHarness(): Harness {
  const root = mkdtempSync(join(tmpdir(), 'cpb-fs-'));
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(join(dir, e.name)) : e.name.startsWith(TEMP_PREFIX) ? [e.name] : [],
    );
  return {
    store: new FsObjectStore(root),
    bucket: 'contract-bucket',
    leftovers: () => walk(root),
    memoryBound: 8 * MiB,
    stop: async () => rmSync(root, { recursive: true, force: true }),
  };
}

// s3rver runs in a child process, so its own memory does not blur the driver's in the 50 MB test.
// s3rver 3.7 predates S3's conditional writes (If-None-Match on PutObject and CompleteMultipartUpload, 2024) and
// has no AbortMultipartUpload. The middleware below adds both to it, as AWS documents them, over s3rver's own
// store, so what the test exercises is the driver's real requests.
const S3RVER = String.raw`
const S3rver = require('s3rver');
const { rm } = require('node:fs/promises');
const { join } = require('node:path');
const [dir, bucket] = process.argv.slice(1);
const server = new S3rver({ address: '127.0.0.1', port: 0, directory: dir, silent: true, configureBuckets: [{ name: bucket }] });
const writing = new Set();
server.middleware.unshift(async (ctx, next) => {
  const m = /^\/([^/]+)\/(.+)$/.exec(ctx.path);
  if (!m) return next();
  const [, b, key] = [m[0], m[1], decodeURIComponent(m[2])];
  if (ctx.method === 'DELETE' && typeof ctx.query.uploadId === 'string') {
    await rm(join(dir, b, '._S3rver_uploads', ctx.query.uploadId), { recursive: true, force: true });
    ctx.status = 204;
    return;
  }
  const completes = ctx.method === 'POST' && 'uploadId' in ctx.query;
  const puts = ctx.method === 'PUT' && !('uploadId' in ctx.query);
  if (ctx.get('if-none-match') !== '*' || !(completes || puts)) return next();
  const id = b + '/' + key;
  const refuse = () => {
    ctx.status = 412;
    ctx.type = 'application/xml';
    ctx.body = '<?xml version="1.0" encoding="UTF-8"?><Error><Code>PreconditionFailed</Code></Error>';
  };
  if (writing.has(id)) return refuse();
  writing.add(id);
  try {
    if (await server.store.existsObject(b, key)) return refuse();
    await next();
  } finally {
    writing.delete(id);
  }
});
server.run().then(({ port }) => process.stdout.write(port + '\n'));
`;

async function s3Harness(): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'cpb-s3rver-'));
  const bucket = 'contract-bucket';
  const child = spawn(process.execPath, ['-e', S3RVER, dir, bucket], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
  const store = new S3ObjectStore({
    url: `http://127.0.0.1:${Number(line)}`,
    region: 'us-east-1',
    forcePathStyle: true,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    partSize: 5 * MiB,
    queueSize: 2,
  });
  const uploads = join(dir, bucket, '._S3rver_uploads');
  return {
    // parts in flight plus the one being filled, and lib-storage's concatenation of it
    memoryBound: 6 * 5 * MiB,
    store,
    bucket,
    leftovers: () => {
      try {
        return readdirSync(uploads);
      } catch {
        return [];
      }
    },
    stop: async () => {
      store.destroy();
      child.kill();
      if (child.exitCode === null) await once(child, 'exit');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `total` bytes of varied content in 64 KiB chunks; fails or calls `at` once `atByte` bytes were produced. */
interface SourceOptions {
  seed?: number;
  atByte?: number;
  at?: (s: Readable) => void;
  onChunk?: (produced: number) => void;
}

function source(total: number, opts: SourceOptions = {}) {
  const hash = createHash('sha256');
  const block = createHash('sha512')
    .update(`${total}/${opts.seed ?? 0}`)
    .digest();
  let produced = 0;
  let fired = false;
  const stream = new Readable({
    read() {
      if (!fired && opts.atByte !== undefined && produced >= opts.atByte && opts.at) {
        fired = true;
        opts.at(this);
        return;
      }
      if (produced >= total) return void this.push(null);
      const chunk = Buffer.alloc(Math.min(64 * 1024, total - produced), block);
      chunk.writeUInt32BE(produced >>> 0, 0);
      hash.update(chunk);
      produced += chunk.length;
      this.push(chunk);
      opts.onChunk?.(produced);
    },
  });
  return { stream, digest: () => hash.digest('hex'), produced: () => produced };
}

const text = (s: string) => Readable.from([Buffer.from(s)]);

async function read(stream: Readable): Promise<{ size: number; sha256: string; text: string }> {
  const hash = createHash('sha256');
  let size = 0;
  let head = '';
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
    if (head.length < 256) head += chunk.toString('latin1');
  }
  return { size, sha256: hash.digest('hex'), text: head };
}

/** listed keys, sorted: order is not part of the port (s3rver lists in file-system order, S3 in byte order) */
async function keys(store: ObjectStore, bucket: string, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of store.list(bucket, prefix)) out.push(o.key);
  return out.sort();
}

describe.each([
  ['fs', async () => fsHarness()],
  ['s3', s3Harness],
])('ObjectStore contract: %s driver', (_name, start) => {
  let h: Harness;
  beforeAll(async () => {
    h = await start();
  });
  afterAll(async () => h?.stop());

  it('puts, gets, heads, lists and deletes', async () => {
    const { store, bucket } = h;
    expect(await store.put(bucket, 'rt/a.txt', text('hello'))).toBe(5);
    const info = await store.head(bucket, 'rt/a.txt');
    expect(info).toMatchObject({ key: 'rt/a.txt', size: 5 });
    expect(Math.abs((info?.modified.getTime() ?? 0) - Date.now())).toBeLessThan(60_000);
    expect((await read(await store.get(bucket, 'rt/a.txt'))).text).toBe('hello');
    expect(await store.put(bucket, 'rt/a.txt', text('replaced'))).toBe(8);
    expect((await read(await store.get(bucket, 'rt/a.txt'))).text).toBe('replaced');
    expect(await store.put(bucket, 'rt/empty', text(''))).toBe(0);
    expect(await store.head(bucket, 'rt/empty')).toMatchObject({ size: 0 });
    await store.delete(bucket, 'rt/a.txt');
    await store.delete(bucket, 'rt/a.txt');
    await store.delete(bucket, 'rt/never/was');
    expect(await store.head(bucket, 'rt/a.txt')).toBeNull();
    await expect(store.get(bucket, 'rt/a.txt')).rejects.toMatchObject({ code: 'ObjectNotFound' });
    await store.delete(bucket, 'rt/empty');
  });

  it('lists by prefix', async () => {
    const { store, bucket } = h;
    const names = ['ls/b/2', 'ls/a', 'ls/b/1', 'ls/b-c', 'ls/c.json', 'lsx'];
    for (const k of names) await store.put(bucket, k, text(k));
    expect(await keys(store, bucket, 'ls/')).toEqual(['ls/a', 'ls/b-c', 'ls/b/1', 'ls/b/2', 'ls/c.json']);
    expect(await keys(store, bucket, 'ls/b')).toEqual(['ls/b-c', 'ls/b/1', 'ls/b/2']);
    expect(await keys(store, bucket, 'ls/b/')).toEqual(['ls/b/1', 'ls/b/2']);
    expect(await keys(store, bucket, 'nothing/')).toEqual([]);
    const sizes: Record<string, number> = {};
    for await (const o of store.list(bucket, 'ls')) sizes[o.key] = o.size;
    expect(sizes).toEqual(Object.fromEntries(names.map((k) => [k, k.length])));
    for (const k of names) await store.delete(bucket, k);
  });

  it('refuses to overwrite with ifNoneMatch and keeps the original', async () => {
    const { store, bucket } = h;
    await store.put(bucket, 'inm/x', text('first'), { ifNoneMatch: true });
    const second = text('second');
    await expect(store.put(bucket, 'inm/x', second, { ifNoneMatch: true })).rejects.toMatchObject({
      code: 'ResourceAlreadyExists',
    });
    expect(second.destroyed).toBe(true);
    expect((await read(await store.get(bucket, 'inm/x'))).text).toBe('first');
    await store.delete(bucket, 'inm/x');
  });

  it('lets exactly one of several concurrent ifNoneMatch puts win, also for multipart objects', async () => {
    const { store, bucket } = h;
    for (const size of [1000, 11 * MiB]) {
      const key = `race/${size}`;
      const sources = [0, 1, 2].map((seed) => source(size, { seed }));
      const results = await Promise.allSettled(
        sources.map((s) => store.put(bucket, key, s.stream, { ifNoneMatch: true })),
      );
      const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
      expect(won).toHaveLength(1);
      for (const r of results) {
        if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'ResourceAlreadyExists' });
      }
      const stored = await read(await store.get(bucket, key));
      expect(stored.size).toBe(size);
      expect(stored.sha256).toBe(sources[won[0] as number]?.digest());
      expect(h.leftovers()).toEqual([]);
      await store.delete(bucket, key);
    }
  });

  it('leaves nothing when the source fails midway', async () => {
    const { store, bucket } = h;
    const s = source(40 * MiB, { atByte: 12 * MiB, at: (r) => r.destroy(new Error('device went away')) });
    await expect(store.put(bucket, 'fail/obj', s.stream)).rejects.toThrow('device went away');
    expect(s.produced()).toBeGreaterThanOrEqual(12 * MiB);
    expect(await store.head(bucket, 'fail/obj')).toBeNull();
    expect(await keys(store, bucket, 'fail/')).toEqual([]);
    expect(h.leftovers()).toEqual([]);
  });

  it('stops and leaves nothing when the put is aborted', async () => {
    const { store, bucket } = h;
    const ac = new AbortController();
    const s = source(40 * MiB, {
      atByte: 12 * MiB,
      at: (r) => {
        ac.abort();
        setImmediate(() => r.push(Buffer.alloc(1)));
      },
    });
    await expect(store.put(bucket, 'abort/obj', s.stream, { signal: ac.signal })).rejects.toMatchObject({
      name: 'AbortError',
    });
    expect(s.produced()).toBeLessThan(40 * MiB);
    expect(await store.head(bucket, 'abort/obj')).toBeNull();
    expect(h.leftovers()).toEqual([]);
    await expect(store.put(bucket, 'abort/pre', text('x'), { signal: ac.signal })).rejects.toMatchObject({
      name: 'AbortError',
    });
    expect(await store.head(bucket, 'abort/pre')).toBeNull();
  });

  it('stops a get when its signal aborts', async () => {
    const { store, bucket } = h;
    await store.put(bucket, 'get-abort/obj', source(8 * MiB).stream);
    const ac = new AbortController();
    const stream = await store.get(bucket, 'get-abort/obj', { signal: ac.signal });
    let got = 0;
    const drain = async () => {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        got += chunk.length;
        if (got >= MiB) ac.abort();
      }
    };
    await expect(drain()).rejects.toMatchObject({ name: 'AbortError' });
    expect(got).toBeLessThan(8 * MiB);
    await store.delete(bucket, 'get-abort/obj');
  });

  it('streams 50 MB in bounded memory, byte for byte', async () => {
    const { store, bucket } = h;
    const total = 50 * MiB;
    // What is still reachable after a full GC, every 10 MiB: garbage would only blur the measurement.
    const retained = () => {
      gc();
      gc();
      const m = process.memoryUsage();
      return m.heapUsed + m.arrayBuffers;
    };
    const base = retained();
    let worst = 0;
    let checkpoint = 10 * MiB;
    const s = source(total, {
      onChunk: (n) => {
        if (n < checkpoint) return;
        checkpoint += 10 * MiB;
        worst = Math.max(worst, retained() - base);
      },
    });
    expect(await store.put(bucket, 'big/50m', s.stream)).toBe(total);
    console.log(`${_name}: 50 MiB put, at most ${(worst / MiB).toFixed(1)} MiB retained while streaming`);
    expect(worst).toBeGreaterThan(0);
    expect(worst).toBeLessThan(h.memoryBound);
    const back = await read(await store.get(bucket, 'big/50m'));
    expect(back).toMatchObject({ size: total, sha256: s.digest() });
    expect(await store.head(bucket, 'big/50m')).toMatchObject({ size: total });
    await store.delete(bucket, 'big/50m');
  });

  it('refuses traversal keys and bad bucket names before touching anything', async () => {
    const { store, bucket } = h;
    const badKeys = ['../escape', 'a/../../b', '/abs', 'a//b', 'a/./b', 'dir/', 'a\\b', 'nul\0', '', 'x'.repeat(1025)];
    for (const key of badKeys) {
      const body = text('x');
      await expect(store.put(bucket, key, body), key).rejects.toMatchObject({ code: 'InvalidParameter' });
      expect(body.destroyed).toBe(true);
      await expect(store.get(bucket, key)).rejects.toMatchObject({ code: 'InvalidParameter' });
      await expect(store.head(bucket, key)).rejects.toMatchObject({ code: 'InvalidParameter' });
      await expect(store.delete(bucket, key)).rejects.toMatchObject({ code: 'InvalidParameter' });
    }
    for (const b of ['..', 'ab', 'UPPER', 'a_b', '-ab', 'a..b', '1.2.3.4', 'x/y', 'a'.repeat(64)]) {
      await expect(store.put(b, 'k', text('x')), b).rejects.toMatchObject({ code: 'InvalidParameter' });
      await expect(store.head(b, 'k')).rejects.toMatchObject({ code: 'InvalidParameter' });
      await expect(keys(store, b, '')).rejects.toMatchObject({ code: 'InvalidParameter' });
    }
    await expect(keys(store, bucket, '../')).rejects.toMatchObject({ code: 'InvalidParameter' });
  });
});
