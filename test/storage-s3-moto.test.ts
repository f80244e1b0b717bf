import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import {
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  ListMultipartUploadsCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3ObjectStore } from '../src/storage/s3-object-store.ts';

// What s3rver cannot show, checked against moto's S3 server (a Python package; .ci/run makes sure it is there):
// ListObjectsV2 paging (s3rver's continuation tokens use DES,
// which OpenSSL 3 refuses), a real AbortMultipartUpload seen through ListMultipartUploads, and a server-side
// If-None-Match on PutObject that the driver's own pre-check cannot have answered.

const MiB = 1024 * 1024;
const BUCKET = 'moto-bucket';

describe('S3ObjectStore on moto', () => {
  let server: ChildProcess;
  let store: S3ObjectStore;
  let admin: S3Client;

  beforeAll(async () => {
    server = spawn('moto_server', ['-H', '127.0.0.1', '-p', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
    // moto logs every request to stderr: keep reading it all, or the pipe fills and the server stalls
    const url = await new Promise<string>((resolve, reject) => {
      let seen = '';
      server.stderr?.on('data', (chunk: Buffer) => {
        if (seen.length > 10_000) return;
        seen += chunk.toString();
        const m = /Running on (http:\/\/127\.0\.0\.1:\d+)/.exec(seen);
        if (m?.[1]) resolve(m[1]);
      });
      server.once('exit', (code) => reject(new Error(`moto_server exited with ${code}: ${seen}`)));
    });
    const credentials = { accessKeyId: 'moto', secretAccessKey: 'moto' };
    admin = new S3Client({ endpoint: url, region: 'us-east-1', forcePathStyle: true, credentials });
    await admin.send(new CreateBucketCommand({ Bucket: BUCKET }));
    store = new S3ObjectStore({ url, region: 'us-east-1', forcePathStyle: true, ...credentials, listPageSize: 2 });
  });

  afterAll(async () => {
    store?.destroy();
    admin?.destroy();
    if (server && server.exitCode === null) {
      server.kill();
      await once(server, 'exit');
    }
  });

  const body = (n: number) => Readable.from([Buffer.alloc(n, 1)]);
  const uploads = async () => (await admin.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }))).Uploads ?? [];

  it('pages through listings in key order', async () => {
    const names = ['p/b/2', 'p/a', 'p/b/1', 'p/b-c', 'p/c', 'q'];
    for (const k of names) await store.put(BUCKET, k, body(k.length));
    const listed = [];
    for await (const o of store.list(BUCKET, 'p/')) listed.push([o.key, o.size]);
    expect(listed).toEqual([
      ['p/a', 3],
      ['p/b-c', 5],
      ['p/b/1', 5],
      ['p/b/2', 5],
      ['p/c', 3],
    ]);
  });

  it('aborts the multipart upload of a failed or aborted put', async () => {
    let n = 0;
    const failing = new Readable({
      read() {
        n += 1;
        if (n > 200) this.destroy(new Error('device went away'));
        else this.push(Buffer.alloc(64 * 1024, n));
      },
    });
    await expect(store.put(BUCKET, 'fail/obj', failing)).rejects.toThrow('device went away');
    const ac = new AbortController();
    let m = 0;
    const endless = new Readable({
      read() {
        m += 1;
        if (m === 200) ac.abort();
        this.push(Buffer.alloc(64 * 1024, m));
      },
    });
    await expect(store.put(BUCKET, 'fail/aborted', endless, { signal: ac.signal })).rejects.toMatchObject({
      name: 'AbortError',
    });
    expect(n).toBeGreaterThan((6 * MiB) / (64 * 1024));
    expect(await uploads()).toEqual([]);
    expect(await store.head(BUCKET, 'fail/obj')).toBeNull();
    expect(await store.head(BUCKET, 'fail/aborted')).toBeNull();
  });

  it('aborts the multipart uploads a dead process left, but not one still being written', async () => {
    const start = (Key: string) => admin.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key }));
    await start('sweep/dead.tar.zst');
    await start('sweep/live.tar.zst');
    await start('elsewhere/other.tar.zst');
    const uploads = async () =>
      ((await admin.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }))).Uploads ?? []).map((u) => u.Key).sort();
    // (moto reports a fixed Initiated time in the past, so age is not what this checks)
    expect(await store.sweepAbandoned(BUCKET, 'sweep/', 0, new Set(['sweep/live.tar.zst']))).toBe(1);
    expect(await uploads()).toEqual(['elsewhere/other.tar.zst', 'sweep/live.tar.zst']);
  });

  it('maps the server’s own If-None-Match refusal', async () => {
    const results = await Promise.allSettled(
      [1, 2, 3, 4].map(() => store.put(BUCKET, 'race', body(10), { ifNoneMatch: true })),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) {
      if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'ResourceAlreadyExists' });
    }
  });
});
