// `cloudphone-backup call` end to end: the real binary, signing and sending to a live API.
import { execFile } from 'node:child_process';
import { type AddressInfo, createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineAction, param } from '../src/api/action.ts';
import { MemoryNonceStore } from '../src/api/auth/memory-nonce-store.ts';
import { buildApi } from '../src/api/server.ts';

const BIN = fileURLToPath(new URL('../bin/cloudphone-backup.js', import.meta.url));
const KEYS = { ALIBABA_CLOUD_ACCESS_KEY_ID: 'AKID-cli', ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'cli secret' };

let app: FastifyInstance;
let endpoint: string;
const seen: Record<string, unknown>[] = [];

beforeAll(async () => {
  const echo = defineAction({
    name: 'Echo',
    params: {
      Text: param.string(),
      Flag: param.boolean(),
      Apps: param.stringList(),
      Tag: param.objectList({ Key: param.string(), Value: param.string() }),
    },
    handle: async (params) => {
      seen.push(params);
      return { Params: params };
    },
  });
  app = buildApi({
    actions: [echo],
    credentials: {
      find: async (id) =>
        id === KEYS.ALIBABA_CLOUD_ACCESS_KEY_ID ? { secret: KEYS.ALIBABA_CLOUD_ACCESS_KEY_SECRET, account: 'a' } : null,
    },
    nonces: new MemoryNonceStore(),
    logger: pino({ level: 'silent' }),
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  endpoint = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});
afterAll(() => app.close());

/** A port nothing listens on: bound by us, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function run(args: string[], env: Record<string, string | undefined> = {}) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [BIN, 'call', ...args],
      { env: { ...process.env, ...KEYS, ...env } },
      (err, stdout, stderr) =>
        resolve({ code: typeof err?.code === 'number' ? err.code : err ? 1 : 0, stdout, stderr }),
    );
  });
}

describe('cloudphone-backup call', () => {
  it('signs with V3 by default; repeated and dotted flags become repeat lists', async () => {
    const res = await run([
      'Echo',
      '--endpoint',
      endpoint,
      '--Text',
      "漢字 a+b !'()*~",
      '--Apps',
      'com.a',
      '--Apps=com.b',
      '--Flag',
      'true',
      '--Tag.1.Key',
      'k',
      '--Tag.1.Value=--x',
      '--data-dir',
      '/nonexistent',
    ]);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const body = JSON.parse(res.stdout);
    expect(body).toEqual({
      RequestId: expect.any(String),
      Params: { Text: "漢字 a+b !'()*~", Flag: true, Apps: ['com.a', 'com.b'], Tag: [{ Key: 'k', Value: '--x' }] },
    });
  }, 30_000);

  it('signs with v1 over GET and over a POST form, reading the endpoint from CLOUDPHONE_ENDPOINT', async () => {
    for (const extra of [['--method', 'GET'], ['--form']]) {
      const res = await run(['Echo', '--signature', 'v1', ...extra, '--Apps.1', 'x', '--Apps.2', 'y'], {
        CLOUDPHONE_ENDPOINT: endpoint,
      });
      expect(res.code).toBe(0);
      expect(JSON.parse(res.stdout).Params).toEqual({ Apps: ['x', 'y'] });
    }
  }, 30_000);

  it('prints an error body to stderr and exits 1', async () => {
    const res = await run(['Nope', '--endpoint', endpoint]);
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('');
    expect(JSON.parse(res.stderr)).toMatchObject({ Code: 'InvalidAction.NotFound', RequestId: expect.any(String) });
    const wrong = await run(['Echo', '--endpoint', endpoint], { ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'nope' });
    expect(wrong.code).toBe(1);
    expect(JSON.parse(wrong.stderr)).toMatchObject({ Code: 'SignatureDoesNotMatch' });
  }, 30_000);

  it('explains missing keys, bad arguments and unreachable endpoints', async () => {
    const noKeys = await run(['Echo', '--endpoint', endpoint], { ALIBABA_CLOUD_ACCESS_KEY_ID: '' });
    expect(noKeys).toMatchObject({ code: 1, stderr: expect.stringContaining('ALIBABA_CLOUD_ACCESS_KEY_ID') });
    const twice = await run(['Echo', '--endpoint', endpoint, '--A', '1', '--A', '2', '--A.1', '3']);
    expect(twice).toMatchObject({ code: 1, stderr: expect.stringContaining('A.1 is given twice') });
    const dangling = await run(['Echo', '--endpoint', endpoint, '--Text', '--Flag', 'true']);
    expect(dangling).toMatchObject({ code: 1, stderr: expect.stringContaining('--Text needs a value') });
    const refused = await run(['Echo', '--endpoint', `http://127.0.0.1:${await closedPort()}`]);
    expect(refused).toMatchObject({ code: 1, stderr: expect.stringContaining('ECONNREFUSED') });
    expect(seen).toHaveLength(3);
  }, 30_000);
});
