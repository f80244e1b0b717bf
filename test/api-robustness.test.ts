// The real actions on a real database (SQLite, no worker, no phones), for what the fuzz found:
// invalid calendar times, oversized requests and the keep-alive connection after them, the cap
// on a phone's unsettled tasks.

import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConnectionError, FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineAction } from '../src/api/action.ts';
import { actions } from '../src/api/actions/index.ts';
import { buildApi } from '../src/api/server.ts';
import { type HttpRequest, type SignOptions, signRequest } from '../src/api/signing/sign-request.ts';
import { serviceErrorOf } from '../src/api/transport.ts';
import { loadConfig } from '../src/config.ts';
import { type Db, openDatabase } from '../src/db/database.ts';
import { objectStoreFor } from '../src/storage/endpoints.ts';
import { cancelWithoutRunner } from './helpers/cancel.ts';

let dir: string;
let db: Db;
let app: FastifyInstance;
let endpoint: string;
let key: { accessKeyId: string; accessKeySecret: string };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cpb-api-robust-'));
  const config = loadConfig({ flags: { dataDir: join(dir, 'data') }, env: {} });
  db = await openDatabase({ dataDir: config.dataDir });
  app = buildApi({
    actions: actions({
      db,
      storeFor: (e) => objectStoreFor(e, config.storage, config.dataDir),
      notifyTasks: () => {},
      maxPendingTasks: 4,
      cancelTask: cancelWithoutRunner(db),
    }),
    credentials: { find: (id) => db.accounts.findKey(id) },
    nonces: db.nonces,
    logger: pino({ level: 'silent' }),
    hostId: 'eds-aic.test.local',
  });
  endpoint = await app.listen({ host: '127.0.0.1', port: 0 });
  key = await db.accounts.createKey('default');
  for (const id of ['acp-cap1', 'acp-cap2', 'acp-cap3']) {
    await db.instances.add({
      id,
      account: 'default',
      name: id,
      adbAddress: '127.0.0.1:1',
      imageId: 'img-test',
      imageVersion: '1.0',
      imageType: 'custom',
      instanceType: 'cpm.gx7.10xlarge',
      androidVersion: '14',
      sdk: 34,
      abi: 'arm64-v8a',
      fingerprint: 'test/fingerprint',
    });
  }
});
afterAll(async () => {
  await app?.close();
  await db?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
  /** the local port of the connection the answer came on */
  localPort: number;
}

/** Sends through node:http (with `agent`, or a fresh connection), keeping the raw status and headers. */
function send(req: HttpRequest, agent?: Agent): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const r = httpRequest(req.url, { method: req.method, headers: req.headers, agent: agent ?? false }, (res) => {
      const chunks: Buffer[] = [];
      const localPort = res.socket.localPort ?? 0;
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(text), localPort });
        } catch {
          reject(new Error(`HTTP ${res.statusCode} with a non-JSON body: ${text.slice(0, 200)}`));
        }
      });
      res.on('error', reject);
    });
    r.on('error', reject);
    r.end(req.body);
  });
}

const signed = (action: string, params: Record<string, string>, over: Partial<SignOptions> = {}) =>
  signRequest({ endpoint, action, params, ...key, signature: 'v3', ...over });
const call = (action: string, params: Record<string, string>, over: Partial<SignOptions> = {}) =>
  send(signed(action, params, over));

function expectEnvelope(body: Record<string, unknown>, code: string) {
  expect(body).toEqual({
    RequestId: expect.stringMatching(/^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/),
    HostId: 'eds-aic.test.local',
    Code: code,
    Message: expect.any(String),
    Recommend: expect.stringContaining(`q=${code}`),
  });
}

describe('time parameters are real calendar times', () => {
  it.each([
    '2026-13-01 00:00:00',
    '2026-00-10 00:00:00',
    '2026-02-30 00:00:00',
    '2025-02-29 12:00:00',
    '2026-01-32 00:00:00',
    '2026-01-01 24:00:00',
    '2026-01-01 23:60:00',
    '2026-01-01 23:59:60',
  ])('DescribeBackupFiles StartTime/EndTime %j is InvalidParameter (400)', async (time) => {
    for (const name of ['StartTime', 'EndTime']) {
      const res = await call('DescribeBackupFiles', { [name]: time });
      expect(res.status).toBe(400);
      expectEnvelope(res.body, 'InvalidParameter');
      expect(res.body.Message).toContain(`"${name}"`);
    }
  });

  it('accepts real times, leap days included, and filters by them', async () => {
    for (const [start, end] of [
      ['2024-02-29 00:00:00', '2099-12-31 23:59:59'],
      ['0001-01-01 00:00:00', '9999-12-31 23:59:59'],
    ]) {
      const res = await call('DescribeBackupFiles', { StartTime: start as string, EndTime: end as string });
      expect(res).toMatchObject({ status: 200, body: { TotalCount: 0, Data: [] } });
    }
  });
});

describe('invalid UTF-8 in a parameter', () => {
  it('decodes to U+FFFD for the signature and the action alike: a signed call with a stray byte works', async () => {
    for (const signature of ['v1', 'v3'] as const) {
      const req = signed('DescribeBackupFiles', { Description: 'a\ufffdb' }, { signature, method: 'GET' });
      expect(req.url).toContain('a%EF%BF%BDb');
      const res = await send({ ...req, url: req.url.replace('a%EF%BF%BDb', 'a%FFb') });
      expect(res).toMatchObject({ status: 200, body: { TotalCount: 0 } });
    }
  });
});

describe('oversized requests answer in the envelope and leave the client a working connection', () => {
  it('a URL over the head limit is 431 RequestHeaderFieldsTooLarge with Connection: close; the next keep-alive request works', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const warm = await send(signed('DescribeAndroidInstances', {}), agent);
      expect(warm.status).toBe(200);
      const huge = signed(
        'DescribeAndroidInstances',
        { AndroidInstanceName: 'x'.repeat(100 * 1024) },
        { method: 'GET' },
      );
      // the second call waits behind the first for the agent's only socket: it must not be sent on a dead one
      const [refused, next] = await Promise.all([
        send(huge, agent),
        send(signed('DescribeAndroidInstances', {}), agent).catch((err: Error) => err),
      ]);
      expect(next).not.toBeInstanceOf(Error);
      expect((next as Answer).status).toBe(200);
      expect(refused.status).toBe(431);
      expect(refused.headers.connection).toBe('close');
      expectEnvelope(refused.body, 'RequestHeaderFieldsTooLarge');
    } finally {
      agent.destroy();
    }
  });

  it('too many header bytes are 431 as well, in the envelope', async () => {
    const req = signed('DescribeAndroidInstances', {});
    const headers = { ...req.headers };
    for (let i = 0; i < 200; i++) headers[`x-fuzz-${i}`] = 'h'.repeat(400);
    const res = await send({ ...req, headers });
    expect(res.status).toBe(431);
    expectEnvelope(res.body, 'RequestHeaderFieldsTooLarge');
  });

  it('a body over the limit is 413 RequestEntityTooLarge with Connection: close, read to its end; the next keep-alive request works', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const big = signed('DescribeAndroidInstances', { AndroidInstanceName: 'y'.repeat(1024 * 1024) }, { form: true });
      const [refused, next] = await Promise.all([
        send(big, agent),
        send(signed('DescribeAndroidInstances', {}), agent).catch((err: Error) => err),
      ]);
      expect(next).not.toBeInstanceOf(Error);
      expect((next as Answer).status).toBe(200);
      expect(refused.status).toBe(413);
      expectEnvelope(refused.body, 'RequestEntityTooLarge');
      // the rest of the body is read and dropped, then that connection is closed, as it says
      expect(refused.headers.connection).toBe('close');
      expect((next as Answer).localPort).not.toBe(refused.localPort);
    } finally {
      agent.destroy();
    }
  });

  it('a refused upload is read until the client stops: it gets the 413, not a reset', async () => {
    const req = signed('DescribeAndroidInstances', {});
    for (const chunked of [false, true]) {
      const size = 6 * 1024 * 1024;
      const outcome = await new Promise<string>((resolve) => {
        const headers: Record<string, string> = { ...req.headers, 'content-type': 'application/x-www-form-urlencoded' };
        if (!chunked) headers['content-length'] = String(size);
        let status = 0;
        let error = 'no error';
        const r = httpRequest(req.url, { method: 'POST', headers, agent: false }, (res) => {
          status = res.statusCode ?? 0;
          res.resume();
        });
        r.on('error', (err) => {
          error = err.message;
        });
        // node:http stops sending once a Connection: close answer is in; other clients send it all
        r.on('close', () => resolve(`${status} ${error}`));
        const chunk = Buffer.alloc(64 * 1024, 'a');
        let left = size / chunk.length;
        const pump = () => {
          while (left > 0 && !r.destroyed) {
            left--;
            if (!r.write(chunk)) return void r.once('drain', pump);
          }
          r.end();
        };
        pump();
      });
      expect(outcome).toBe('413 no error');
    }
  });

  it('a client that sends all of a refused 6 MiB body before reading gets the 413', async () => {
    const req = signed('DescribeAndroidInstances', {});
    const headers = Object.entries({ ...req.headers, 'content-type': 'application/x-www-form-urlencoded' })
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('');
    const size = 6 * 1024 * 1024;
    const head = `POST /${new URL(req.url).search} HTTP/1.1\r\n${headers}content-length: ${size}\r\n\r\n`;
    const raw = await rawExchange(head + 'a'.repeat(size));
    expect(raw.head).toMatch(/^HTTP\/1\.1 413 /);
    expectEnvelope(JSON.parse(raw.body), 'RequestEntityTooLarge');
  });

  it('a HEAD whose head cannot be parsed, right after a refused upload on the same agent, gets no body', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (let i = 0; i < 5; i++) {
        const big = signed(
          'DescribeAndroidInstances',
          { AndroidInstanceName: 'y'.repeat(1024 * 1024) },
          { form: true },
        );
        expect((await send(big, agent)).status).toBe(413);
        const huge = signed(
          'DescribeAndroidInstances',
          { AndroidInstanceName: 'x'.repeat(100 * 1024) },
          { method: 'GET' },
        );
        const head = await new Promise<string>((resolve) => {
          const r = httpRequest(huge.url, { method: 'HEAD', headers: huge.headers, agent }, (res) => {
            res.resume();
            res.on('end', () => resolve(String(res.statusCode)));
          });
          r.on('error', (err) => resolve(err.message));
          r.end();
        });
        expect(head).toBe('431');
      }
    } finally {
      agent.destroy();
    }
  });

  it('a body declared far larger than can be drained is 413 with Connection: close, answered at once', async () => {
    const req = signed('DescribeAndroidInstances', {});
    const headers = Object.entries({ ...req.headers, 'content-type': 'application/x-www-form-urlencoded' })
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('');
    const raw = await rawExchange(
      `POST /${new URL(req.url).search} HTTP/1.1\r\n${headers}content-length: ${100 * 1024 * 1024}\r\n\r\n${'a'.repeat(65536)}`,
    );
    expect(raw.head).toMatch(/^HTTP\/1\.1 413 /);
    expect(raw.head.toLowerCase()).toContain('connection: close');
    expectEnvelope(JSON.parse(raw.body), 'RequestEntityTooLarge');
  });

  it('a request still arriving after the request timeout is 408 RequestTimeout in the envelope', async () => {
    const slowApp = buildApi({
      actions: [],
      credentials: { find: (id) => db.accounts.findKey(id) },
      nonces: db.nonces,
      logger: pino({ level: 'silent' }),
      hostId: 'eds-aic.test.local',
      requestTimeoutMs: 400,
    });
    const url = await slowApp.listen({ host: '127.0.0.1', port: 0 });
    try {
      for (const partial of [
        'POST / HTTP/1.1\r\nHost: x\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: 10\r\n\r\nabc',
        'GET / HTTP/1.1\r\nHost: x\r\nx-slow: ',
      ]) {
        const raw = await rawExchange(partial, Number(new URL(url).port));
        expect(raw.head).toMatch(/^HTTP\/1\.1 408 /);
        expect(raw.head.toLowerCase()).toContain('connection: close');
        expectEnvelope(JSON.parse(raw.body), 'RequestTimeout');
      }
    } finally {
      await slowApp.close();
    }
  });

  it('a malformed request line is 400 BadRequest in the envelope, with Connection: close', async () => {
    const raw = await rawExchange('GET /\u0001? HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(raw.head).toMatch(/^HTTP\/1\.1 400 /);
    expect(raw.head.toLowerCase()).toContain('connection: close');
    expectEnvelope(JSON.parse(raw.body), 'BadRequest');
  });
  it('the 431 to a HEAD request has no body, so the keep-alive client can read it', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      // not the connection's first request: the server must tell where the HEAD one starts
      expect((await send(signed('DescribeAndroidInstances', {}), agent)).status).toBe(200);
      const huge = signed(
        'DescribeAndroidInstances',
        { AndroidInstanceName: 'x'.repeat(100 * 1024) },
        { method: 'GET' },
      );
      const head = new Promise<{ status: number; connection?: string; body: string }>((resolve, reject) => {
        const r = httpRequest(huge.url, { method: 'HEAD', headers: huge.headers, agent }, (res) => {
          let body = '';
          res.on('data', (c) => {
            body += c;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body }));
        });
        r.on('error', reject);
        r.end();
      });
      const next = send(signed('DescribeAndroidInstances', {}), agent);
      expect(await head).toEqual({ status: 431, connection: 'close', body: '' });
      expect((await next).status).toBe(200);
    } finally {
      agent.destroy();
    }
  });

  it.each([
    ['identity', 'a=b'],
    ['gzip', 'a=b'],
    ['gzip, chunked', 'a=b'],
    ['chunked', 'zz\r\na=b\r\n0\r\n\r\n'],
    ['chunked', '3\r\na=bXX0\r\n\r\n'],
  ])('a body framed by Transfer-Encoding %j that cannot be read is 400 BadRequest, at once', async (te, body) => {
    const req = signed('DescribeAndroidInstances', {});
    const headers = Object.entries({ ...req.headers, 'content-type': 'application/x-www-form-urlencoded' })
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('');
    const raw = await rawExchange(
      `POST /${new URL(req.url).search} HTTP/1.1\r\n${headers}transfer-encoding: ${te}\r\n\r\n${body}`,
    );
    expect(raw.head).toMatch(/^HTTP\/1\.1 400 /);
    expect(raw.head.toLowerCase()).toContain('connection: close');
    expectEnvelope(JSON.parse(raw.body), 'BadRequest');
  });

  it("maps the parser's errors: head overflow 431, timeout 408, anything else 400 with llhttp's reason", () => {
    const of = (code: string, reason?: string) => {
      const e = serviceErrorOf(Object.assign(new Error('x'), { code, reason }) as unknown as ConnectionError, 65536);
      return [e.httpStatus, e.code, e.message];
    };
    expect(of('HPE_HEADER_OVERFLOW')).toEqual([431, 'RequestHeaderFieldsTooLarge', expect.stringContaining('65536')]);
    expect(of('ERR_HTTP_REQUEST_TIMEOUT')).toEqual([408, 'RequestTimeout', expect.any(String)]);
    expect(of('HPE_INVALID_METHOD', 'Invalid method encountered')).toEqual([
      400,
      'BadRequest',
      'The request is malformed: Invalid method encountered',
    ]);
  });

  it('a malformed request pipelined behind a good one is answered after it, whole', async () => {
    const raw = await rawExchange(`${wire(signed('DescribeAndroidInstances', {}))}BAD\u0001 / HTTP/1.1\r\n\r\n`);
    const text = `${raw.head}\r\n\r\n${raw.body}`;
    const answers = text.split(/(?=HTTP\/1\.1 \d{3} )/);
    expect(answers.map((a) => a.slice(0, 12))).toEqual(['HTTP/1.1 200', 'HTTP/1.1 400']);
    expectEnvelope(JSON.parse(answers[1]?.slice(answers[1].indexOf('\r\n\r\n') + 4) ?? ''), 'BadRequest');
  });
});

describe('what Fastify and Node answer themselves is answered in the envelope too', () => {
  it('a path that is not validly percent-encoded is 400 BadRequest, without echoing the URL', async () => {
    const req = signed('DescribeAndroidInstances', {}, { signature: 'v1', method: 'GET' });
    const res = await send({ ...req, url: req.url.replace('/?', '/%zz?') });
    expect(res.status).toBe(400);
    expectEnvelope(res.body, 'BadRequest');
    expect(res.body.Message).not.toContain('Signature');
  });

  it('CONNECT is 404 InvalidAction.NotFound, not a dropped connection', async () => {
    const raw = await rawExchange('CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n');
    expect(raw.head).toMatch(/^HTTP\/1\.1 404 /);
    expectEnvelope(JSON.parse(raw.body), 'InvalidAction.NotFound');
  });

  it('a request arriving on an open connection while the server closes is 503 ServiceUnavailable', async () => {
    let started: () => void = () => {};
    const running = new Promise<void>((r) => {
      started = r;
    });
    let finish: () => void = () => {};
    const finished = new Promise<void>((r) => {
      finish = r;
    });
    const slow = defineAction({
      name: 'Slow',
      params: {},
      handle: async () => {
        started();
        await finished;
        return {};
      },
    });
    const closingApp = buildApi({
      actions: [slow],
      credentials: { find: (id) => db.accounts.findKey(id) },
      nonces: db.nonces,
      logger: pino({ level: 'silent' }),
      hostId: 'eds-aic.test.local',
    });
    const url = await closingApp.listen({ host: '127.0.0.1', port: 0 });
    const first = wire(signRequest({ endpoint: url, action: 'Slow', params: {}, ...key, signature: 'v3' }));
    const second = wire(signRequest({ endpoint: url, action: 'Slow', params: {}, ...key, signature: 'v3' }));
    const socket = connect(Number(new URL(url).port), '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c) => chunks.push(c));
    const closed = new Promise((r) => socket.on('close', r));
    socket.write(first);
    await running;
    const closing = closingApp.close();
    socket.write(second);
    await new Promise((r) => setTimeout(r, 100));
    finish();
    await closing;
    await closed;
    const answers = Buffer.concat(chunks)
      .toString('utf8')
      .split(/(?=HTTP\/1\.1 \d{3} )/);
    expect(answers.map((a) => a.slice(0, 12))).toEqual(['HTTP/1.1 200', 'HTTP/1.1 503']);
    const last = answers[1] ?? '';
    expectEnvelope(JSON.parse(last.slice(last.indexOf('\r\n\r\n') + 4)), 'ServiceUnavailable');
  });
});

/** A signed request as the bytes of an HTTP/1.1 message. */
function wire(req: HttpRequest): string {
  const url = new URL(req.url);
  const body = req.body ?? '';
  const headers = { ...req.headers, 'content-length': String(Buffer.byteLength(body)) };
  const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}`);
  return `${req.method} ${url.pathname}${url.search} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n${body}`;
}

/** Writes raw bytes on a fresh connection and reads until the server closes it. */
function rawExchange(data: string, port = Number(new URL(endpoint).port)): Promise<{ head: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(data));
    const chunks: Buffer[] = [];
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      resolve({ head: text.slice(0, split), body: text.slice(split + 4) });
    });
    socket.setTimeout(5000, () => socket.destroy(new Error('the server kept the connection open')));
  });
}

describe('a phone holds at most maxPendingTasksPerInstance unsettled tasks (4 here)', () => {
  const backup = (ids: string[]) =>
    call('BackupApp', {
      ...Object.fromEntries(ids.map((id, i) => [`AndroidInstanceIdList.${i + 1}`, id])),
      'SourceAppList.1': 'com.example.notes',
      BackupFilePath: 'oss://bucket/cap/',
      UploadEndpoint: 'oss-cap.local',
    });

  it('BackupApp and RecoverApp beyond the cap are TooManyPendingTasks (409); other phones are not held back', async () => {
    for (let i = 0; i < 4; i++) expect((await backup(['acp-cap1'])).status).toBe(200);
    const refused = await backup(['acp-cap2', 'acp-cap1']);
    expect(refused.status).toBe(409);
    expectEnvelope(refused.body, 'TooManyPendingTasks');
    expect(refused.body.Message).toContain('acp-cap1');
    // nothing was queued for the other phone of the refused call
    const tasks = await db.tasks.list('default', { instanceId: 'acp-cap2' });
    expect(tasks.totalCount).toBe(0);
    expect((await backup(['acp-cap2'])).status).toBe(200);

    const file = await db.backupFiles.create({
      id: 'bf-capfile',
      account: 'default',
      instanceId: 'acp-cap3',
      instanceName: 'acp-cap3',
      name: 'cap.tar.zst',
      description: '',
      path: 'oss://bucket/cap/',
      endpoint: 'oss-cap.local',
      bucket: 'bucket',
      objectKey: 'cap/cap.tar.zst',
      apps: ['com.example.notes'],
      taskId: 't-none',
      status: 'AVAILABLE',
    });
    const recover = (id: string) =>
      call('RecoverApp', { BackupFileId: file.id, 'AndroidInstanceIdList.1': id, UploadType: 'OSS' });
    const recoverRefused = await recover('acp-cap1');
    expect(recoverRefused.status).toBe(409);
    expectEnvelope(recoverRefused.body, 'TooManyPendingTasks');
    expect((await recover('acp-cap3')).status).toBe(200);
  });

  it('settled tasks do not count', async () => {
    await db.kysely
      .updateTable('tasks')
      .set({ status: 'Failed' })
      .where('instanceId', '=', 'acp-cap1')
      .where('level', '=', 2)
      .execute();
    expect((await backup(['acp-cap1'])).status).toBe(200);
  });
});
