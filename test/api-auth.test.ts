// Signature edge cases through our own signer and fetch, where the real SDKs cannot be steered:
// clock skew, nonce replay, tampering, incomplete signatures; plus the transport's own errors.

import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type OpenApiCore from '@alicloud/openapi-core';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineAction, param, type ResponseBody } from '../src/api/action.ts';
import { MemoryNonceStore } from '../src/api/auth/memory-nonce-store.ts';
import { buildApi } from '../src/api/server.ts';
import { type HttpRequest, type SignOptions, signRequest } from '../src/api/signing/sign-request.ts';

const { OpenApiUtil }: typeof OpenApiCore = createRequire(import.meta.url)('@alicloud/openapi-core');

const ID = 'AKID-auth';
const SECRET = 'auth-secret';
let aborted: Promise<unknown> = Promise.resolve();
let markStarted: () => void = () => {};

const actions = [
  defineAction({
    name: 'Echo',
    params: { Text: param.string(), Items: param.stringList() },
    handle: async (params) => ({ Params: params }),
  }),
  defineAction({
    name: 'Slow',
    params: {},
    handle: async (_params, ctx) => {
      aborted = new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve(ctx.signal.reason)));
      markStarted();
      await aborted;
      return {};
    },
  }),
  defineAction({
    name: 'Coded',
    params: {},
    // The type forbids a top-level Code; a handler that sneaks one in still must not reach pop-core.
    handle: async () => ({ Code: 'OK' }) as unknown as ResponseBody,
  }),
];

let app: FastifyInstance;
let endpoint: string;

beforeAll(async () => {
  app = buildApi({
    actions,
    credentials: { find: async (id) => (id === ID ? { secret: SECRET, account: 'acme' } : null) },
    nonces: new MemoryNonceStore(),
    logger: pino({ level: 'silent' }),
    hostId: 'eds-aic.test.local',
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  endpoint = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});
afterAll(() => app.close());

const opts = (over: Partial<SignOptions> = {}): SignOptions => ({
  endpoint,
  action: 'Echo',
  params: { Text: 'hi' },
  accessKeyId: ID,
  accessKeySecret: SECRET,
  signature: 'v3',
  ...over,
});

async function send(request: HttpRequest) {
  const res = await fetch(request.url, { method: request.method, headers: request.headers, body: request.body });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}
const call = (over: Partial<SignOptions> = {}) => send(signRequest(opts(over)));

describe('our signer matches the SDKs and the server', () => {
  it.each([
    ['v1', 'GET', false],
    ['v1', 'POST', false],
    ['v1', 'POST', true],
    ['v3', 'POST', false],
    ['v3', 'POST', true],
    ['v3', 'GET', false],
  ] as const)('%s %s form=%s', async (signature, method, form) => {
    const params = { Text: "漢字 +!'()*~", 'Items.1': 'a', 'Items.3': 'c' };
    expect(await call({ signature, method, form, params })).toEqual({
      status: 200,
      body: { RequestId: expect.any(String), Params: { Text: params.Text, Items: ['a', 'c'] } },
    });
  });

  it('computes the same v1 signature as openapi-util', () => {
    const request = signRequest(opts({ signature: 'v1', method: 'GET', params: { Text: "a b+c!'()*~漢" } }));
    const query = Object.fromEntries(new URL(request.url).searchParams);
    const { Signature, ...signed } = query;
    expect(Signature).toBe(OpenApiUtil.getRPCSignature(signed, 'GET', SECRET));
  });

  it('computes the same V3 Authorization as openapi-util', () => {
    const request = signRequest(opts({ params: { Text: "a b+c!'()*~漢", 'Items.1': 'x' } }));
    const url = new URL(request.url);
    const { authorization, ...headers } = request.headers;
    const expected = OpenApiUtil.getAuthorization(
      { pathname: '/', method: 'POST', query: Object.fromEntries(url.searchParams), headers } as never,
      'ACS3-HMAC-SHA256',
      headers['x-acs-content-sha256'] ?? '',
      ID,
      SECRET,
    );
    expect(authorization).toBe(expected);
  });
});

describe('time and replay', () => {
  const minutes = (n: number) => new Date(Date.now() + n * 60_000);

  it.each(['v1', 'v3'] as const)(
    '%s: a timestamp 16 minutes off either way is expired; 14 is fine',
    async (signature) => {
      for (const now of [minutes(-16), minutes(16)]) {
        const res = await call({ signature, now });
        expect(res).toMatchObject({ status: 400, body: { Code: 'InvalidTimeStamp.Expired' } });
      }
      expect((await call({ signature, now: minutes(-14) })).status).toBe(200);
    },
  );

  it('a malformed timestamp is InvalidTimeStamp.Format', async () => {
    const request = signRequest(opts({ signature: 'v1', method: 'GET' }));
    const url = new URL(request.url);
    url.searchParams.set('Timestamp', '2025-02-30T10:00:00Z');
    const res = await send({ ...request, url: url.toString() });
    expect(res).toMatchObject({ status: 400, body: { Code: 'InvalidTimeStamp.Format' } });
  });

  it.each(['v1', 'v3'] as const)('%s: a reused nonce is refused', async (signature) => {
    const nonce = `nonce-${signature}-${Date.now()}`;
    expect((await call({ signature, nonce })).status).toBe(200);
    expect(await call({ signature, nonce })).toMatchObject({ status: 400, body: { Code: 'SignatureNonceUsed' } });
  });

  it('a request with a bad signature does not burn its nonce', async () => {
    const nonce = `nonce-unburnt-${Date.now()}`;
    const bad = await call({ nonce, accessKeySecret: 'wrong' });
    expect(bad).toMatchObject({ status: 400, body: { Code: 'SignatureDoesNotMatch' } });
    expect((await call({ nonce })).status).toBe(200);
  });
});

describe('tampering and incomplete signatures', () => {
  it('an unknown AccessKeyId is InvalidAccessKeyId.NotFound (404), for both signatures', async () => {
    for (const signature of ['v1', 'v3'] as const) {
      const res = await call({ signature, accessKeyId: 'someone-else' });
      expect(res).toMatchObject({ status: 404, body: { Code: 'InvalidAccessKeyId.NotFound' } });
    }
  });

  it('V3: a changed query fails the signature; a changed body fails the content hash', async () => {
    const request = signRequest(opts());
    const res = await send({ ...request, url: request.url.replace('Text=hi', 'Text=ho') });
    expect(res).toMatchObject({ status: 400, body: { Code: 'SignatureDoesNotMatch' } });
    expect(res.body.Message).toMatch(/server string to sign is:ACS3-HMAC-SHA256\n[0-9a-f]{64}$/);
    const form = signRequest(opts({ form: true }));
    const tampered = await send({ ...form, body: 'Text=ho' });
    expect(tampered).toMatchObject({ status: 400, body: { Code: 'InvalidParameter' } });
    expect(tampered.body.Message).toContain('x-acs-content-sha256');
  });

  it('V3: x-acs-date must be signed; other schemes are refused', async () => {
    const request = signRequest(opts());
    const authorization = request.headers.authorization?.replace('x-acs-date;', '') ?? '';
    const res = await send({ ...request, headers: { ...request.headers, authorization } });
    expect(res).toMatchObject({ status: 400, body: { Code: 'IncompleteSignature' } });
    expect(res.body.Message).toContain('x-acs-date');
    const other = await send({ ...request, headers: { ...request.headers, authorization: 'Bearer abc' } });
    expect(other).toMatchObject({ status: 400, body: { Code: 'IncompleteSignature' } });
  });

  it('v1: missing pieces are MissingParameter naming them', async () => {
    const request = signRequest(opts({ signature: 'v1', method: 'GET' }));
    const url = new URL(request.url);
    url.searchParams.delete('Signature');
    const res = await send({ ...request, url: url.toString() });
    expect(res).toMatchObject({ status: 400, body: { Code: 'MissingParameter' } });
    expect(res.body.Message).toContain('"Signature"');
    const unsigned = await send({ url: `${endpoint}/?Action=Echo&Version=2023-09-30`, method: 'GET', headers: {} });
    expect(unsigned.body.Message).toContain('"AccessKeyId"');
    // pop-core sends x-acs-action too, but v1 signs only parameters: the header alone does not count.
    const headerOnly = await send({
      url: `${endpoint}/?Version=2023-09-30`,
      method: 'GET',
      headers: { 'x-acs-action': 'Echo' },
    });
    expect(headerOnly.body.Message).toContain('"Action"');
  });

  it('a parameter given twice, or Action disagreeing with x-acs-action, is refused', async () => {
    const request = signRequest(opts({ signature: 'v1', method: 'GET' }));
    const twice = await send({ ...request, url: `${request.url}&Text=again` });
    expect(twice).toMatchObject({ status: 400, body: { Code: 'InvalidParameter' } });
    const v3 = signRequest(opts());
    const mismatch = await send({ ...v3, url: `${v3.url}&Action=Slow` });
    expect(mismatch).toMatchObject({ status: 400, body: { Code: 'InvalidParameter' } });
    expect(mismatch.body.Message).toContain('x-acs-action');
  });
});

describe('the transport', () => {
  it('renders every error in the envelope, with HostId and Recommend', async () => {
    const res = await call({ action: 'Nope' });
    expect(res).toEqual({
      status: 404,
      body: {
        RequestId: expect.stringMatching(/^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/),
        HostId: 'eds-aic.test.local',
        Code: 'InvalidAction.NotFound',
        Message: 'Specified api is not found, please check your url and method.',
        Recommend: `https://api.aliyun.com/troubleshoot?q=InvalidAction.NotFound&product=eds-aic&requestId=${res.body.RequestId}`,
      },
    });
  });

  it.each([
    ['InvalidVersion', 400, { version: '2014-05-26' }],
    ['InvalidAction.NotFound', 404, { action: 'Nope' }],
    ['InvalidParameter', 400, { params: { 'Items.101': 'x' } }],
    ['InvalidParameter', 400, { params: { Items: 'a', 'Items.1': 'b' } }],
    ['InvalidAccessKeyId.NotFound', 404, { accessKeyId: 'nobody' }],
    ['SignatureDoesNotMatch', 400, { accessKeySecret: 'nope' }],
  ] as const)('%s is HTTP %i', async (code, status, over) => {
    const res = await call(over);
    expect(res.status).toBe(status);
    expect(res.body.Code).toBe(code);
  });

  it("renders Fastify's own errors and unknown routes in the envelope", async () => {
    const json = await fetch(`${endpoint}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(json.status).toBe(415);
    expect(await json.json()).toMatchObject({ Code: 'UnsupportedMediaType', RequestId: expect.any(String) });
    const big = await fetch(`${endpoint}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `Text=${'x'.repeat(1024 * 1024 + 1)}`,
    });
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({ Code: 'RequestEntityTooLarge' });
    for (const [method, path] of [
      ['GET', '/other'],
      ['PUT', '/'],
    ]) {
      const res = await fetch(`${endpoint}${path}`, { method });
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ Code: 'InvalidAction.NotFound', HostId: 'eds-aic.test.local' });
    }
  });

  it('a top-level Code in a success body becomes InternalError', async () => {
    expect(await call({ action: 'Coded', params: {} })).toMatchObject({ status: 500, body: { Code: 'InternalError' } });
  });

  it('aborts the action signal when the client goes away', async () => {
    const started = new Promise<void>((resolve) => {
      markStarted = resolve;
    });
    const request = signRequest(opts({ action: 'Slow', params: {} }));
    const controller = new AbortController();
    const pending = fetch(request.url, { method: request.method, headers: request.headers, signal: controller.signal });
    await started;
    controller.abort();
    await expect(pending).rejects.toThrow();
    expect(String(await aborted)).toContain('client closed the connection');
  });

  it('serves /healthz and /metrics', async () => {
    const health = await fetch(`${endpoint}/healthz`);
    expect(await health.json()).toEqual({ status: 'ok' });
    const metrics = await (await fetch(`${endpoint}/metrics`)).text();
    expect(metrics).toMatch(/cloudphone_api_requests_total\{action="Echo",code="OK"\} \d+/);
    expect(metrics).toMatch(/cloudphone_api_requests_total\{action="Echo",code="SignatureNonceUsed"\} 2/);
    expect(metrics).toMatch(/cloudphone_api_requests_total\{action="Unknown",code="UnsupportedMediaType"\} 1/);
    expect(metrics).toContain('cloudphone_api_request_duration_seconds_bucket{le="0.005",action="Echo"}');
  });
});
