// The API edge against the real Alibaba clients: pop-core (RPC v1, GET and POST) and
// openapi-core configured as the generated eds-aic SDK (V3, and v1 with signatureAlgorithm 'v2').
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
// In an ES module the default import of a CommonJS module is its whole `module.exports`.
import type OpenApiCore from '@alicloud/openapi-core';
import RPCClient from '@alicloud/pop-core';
import * as $dara from '@darabonba/typescript';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineAction, param } from '../src/api/action.ts';
import { MemoryNonceStore } from '../src/api/auth/memory-nonce-store.ts';
import { buildApi } from '../src/api/server.ts';

// Loaded as the CommonJS module it is, so `default` is the client class under both tsc and vitest.
const openApiCore: typeof OpenApiCore = createRequire(import.meta.url)('@alicloud/openapi-core');
const { default: OpenApi, $OpenApiUtil, OpenApiUtil } = openApiCore;

const ID = 'LTAI-test-key';
const SECRET = 'test-secret-!*()';
const TRICKY = "漢字 テスト a+b=c&d !'()*~ 100%";

const echo = defineAction({
  name: 'Echo',
  params: {
    Text: param.string({ required: true, maxLength: 200 }),
    Count: param.integer({ min: 0, max: 1000 }),
    Flag: param.boolean(),
    Items: param.stringList(),
    Tag: param.objectList({ Key: param.string({ required: true }), Value: param.string() }),
  },
  handle: async (params, ctx) => ({ Params: params, Account: ctx.account }),
});
const boom = defineAction({
  name: 'Boom',
  params: {},
  handle: async () => {
    throw new Error('database password is hunter2');
  },
});

const logLines: string[] = [];
let app: FastifyInstance;
let port: number;

beforeAll(async () => {
  app = buildApi({
    actions: [echo, boom],
    credentials: { find: async (id) => (id === ID ? { secret: SECRET, account: 'acme' } : null) },
    nonces: new MemoryNonceStore(),
    logger: pino({ level: 'info' }, { write: (line: string) => logLines.push(line) }),
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  port = (app.server.address() as AddressInfo).port;
});
afterAll(() => app.close());

const pop = (secret = SECRET) =>
  new RPCClient({
    endpoint: `http://127.0.0.1:${port}`,
    apiVersion: '2023-09-30',
    accessKeyId: ID,
    accessKeySecret: secret,
  });

/** openapi-core exactly as the generated eds-aic client drives it: params flattened into the query. */
async function sdkCall(action: string, query: Record<string, unknown>, opts: { secret?: string; v1?: boolean } = {}) {
  const client = new OpenApi(
    new $OpenApiUtil.Config({
      accessKeyId: ID,
      accessKeySecret: opts.secret ?? SECRET,
      endpoint: `127.0.0.1:${port}`,
      protocol: 'http',
      ...(opts.v1 ? { signatureAlgorithm: 'v2' } : {}),
    }),
  );
  const request = new $OpenApiUtil.OpenApiRequest({ query: OpenApiUtil.query(query) });
  const params = new $OpenApiUtil.Params({
    action,
    version: '2023-09-30',
    protocol: 'HTTP',
    pathname: '/',
    method: 'POST',
    authType: 'AK',
    style: 'RPC',
    reqBodyType: 'formData',
    bodyType: 'json',
  });
  return client.callApi(params, request, new $dara.RuntimeOptions({}));
}

const wanted = {
  Text: TRICKY,
  Count: 42,
  Flag: true,
  Items: ['com.example.one', TRICKY, 'x y'],
  Tag: [
    { Key: 'env', Value: 'prod 生产' },
    { Key: 'k+!', Value: "'()*" },
  ],
};

describe('success through every client', () => {
  it.each(['GET', 'POST'])('pop-core %s (RPC v1)', async (method) => {
    const body = await pop().request<Record<string, unknown>>('Echo', wanted, { method });
    expect(body).toEqual({ RequestId: expect.stringMatching(/^[0-9A-F-]{36}$/), Params: wanted, Account: 'acme' });
    expect(Object.keys(body)[0]).toBe('RequestId');
  });

  it.each([
    ['V3 ACS3-HMAC-SHA256', false],
    ["v1 (signatureAlgorithm 'v2')", true],
  ])('openapi-core %s, holes in lists', async (_name, v1) => {
    const res = await sdkCall('Echo', { ...wanted, Items: ['a', null, 'c', undefined, TRICKY] }, { v1 });
    expect(res.statusCode).toBe(200);
    expect(res.body).toEqual({
      RequestId: expect.stringMatching(/^[0-9A-F-]{36}$/),
      Params: { ...wanted, Items: ['a', 'c', TRICKY] },
      Account: 'acme',
    });
    expect(res.body).not.toHaveProperty('Code');
  });
});

describe('errors through every client', () => {
  it('a wrong secret: pop-core throws on the body Code', async () => {
    for (const method of ['GET', 'POST']) {
      const err = await pop('wrong')
        .request('Echo', { Text: 'x' }, { method })
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'SignatureDoesNotMatch', name: 'SignatureDoesNotMatchError' });
      const data = (err as { data: Record<string, string> }).data;
      expect(data.Message).toContain(`server string to sign is:${method}&%2F&`);
      expect(data.Recommend).toBe(
        `https://api.aliyun.com/troubleshoot?q=SignatureDoesNotMatch&product=eds-aic&requestId=${data.RequestId}`,
      );
      expect(data.HostId).toBe(`127.0.0.1:${port}`);
    }
  });

  it.each([false, true])('a wrong secret: openapi-core (v1=%s) throws on the HTTP status', async (v1) => {
    const err = await sdkCall('Echo', { Text: 'x' }, { secret: 'wrong', v1 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'ClientError', code: 'SignatureDoesNotMatch', statusCode: 400 });
  });

  it('an unknown key, action, version; missing and invalid parameters', async () => {
    const bad = new RPCClient({
      endpoint: `http://127.0.0.1:${port}`,
      apiVersion: '2023-09-30',
      accessKeyId: 'nobody',
      accessKeySecret: SECRET,
    });
    await expect(bad.request('Echo', { Text: 'x' })).rejects.toMatchObject({ code: 'InvalidAccessKeyId.NotFound' });
    await expect(pop().request('Nope', {})).rejects.toMatchObject({ code: 'InvalidAction.NotFound' });
    const old = new RPCClient({
      endpoint: `http://127.0.0.1:${port}`,
      apiVersion: '2014-05-26',
      accessKeyId: ID,
      accessKeySecret: SECRET,
    });
    await expect(old.request('Echo', { Text: 'x' })).rejects.toMatchObject({ code: 'InvalidVersion' });
    const missing = await pop()
      .request('Echo', { Count: 1 })
      .catch((e: { data: unknown }) => e.data);
    expect(missing).toMatchObject({
      Code: 'MissingParameter',
      Message: 'The input parameter "Text" that is mandatory for processing this request is not supplied.',
    });
    await expect(sdkCall('Echo', { Text: 'x', Count: 'many' })).rejects.toMatchObject({
      code: 'InvalidParameter',
      statusCode: 400,
      message: expect.stringContaining('"Count"'),
    });
    await expect(sdkCall('Echo', { Text: 'x', Tag: [{ Value: 'v' }] })).rejects.toMatchObject({
      code: 'MissingParameter',
      message: expect.stringContaining('"Tag.1.Key"'),
    });
    await expect(sdkCall('Nope', {})).rejects.toMatchObject({ code: 'InvalidAction.NotFound', statusCode: 404 });
  });

  it('a 10,000-item list is refused, naming the parameter', async () => {
    const Items = Array.from({ length: 10_000 }, (_, i) => `item-${i}`);
    const err = await pop()
      .request('Echo', { Text: 'x', Items }, { method: 'POST' })
      .catch((e: { data: unknown }) => e.data);
    expect(err).toMatchObject({ Code: 'InvalidParameter', Message: expect.stringContaining('"Items"') });
  });

  it('an internal error is a 500 InternalError that does not leak the cause, which is logged', async () => {
    const err = await sdkCall('Boom', {}).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'ServerError', code: 'InternalError', statusCode: 500 });
    const data = (err as { data: Record<string, string> }).data;
    expect(data.Message).toBe('The request processing has failed due to some unknown error.');
    expect(JSON.stringify(data)).not.toContain('hunter2');
    const logged = logLines.map((l) => JSON.parse(l)).find((l) => l.RequestId === data.RequestId && l.err);
    expect(logged?.err.message).toContain('hunter2');
    await expect(pop().request('Boom', {})).rejects.toMatchObject({ code: 'InternalError' });
  });

  it('never logs signatures, Authorization headers or secrets', () => {
    const all = logLines.join('\n');
    expect(all).toContain('"Action":"Echo"');
    expect(all).not.toMatch(/Signature=|ACS3-HMAC-SHA256|test-secret|"Signature"/);
  });
});
