import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineAction, param } from '../src/api/action.ts';
import { MemoryNonceStore } from '../src/api/auth/memory-nonce-store.ts';
import { SessionStore } from '../src/api/console/sessions.ts';
import { buildApi } from '../src/api/server.ts';

// The console's sign-in, session and CSRF rules over real HTTP (fetch), with stand-in actions:
// what a browser's cookie and headers must be for a call to pass, and what is refused.

const KEYS = new Map([
  ['AKID-a', { secret: 'secret-of-a', account: 'acme' }],
  ['AKID-b', { secret: 'secret-of-b', account: 'bravo' }],
]);
const IDLE_MS = 30 * 60_000;
let clock = 0;
const sessions = new SessionStore({ idleMs: IDLE_MS, maxMs: 8 * 3_600_000 }, () => clock);
const logged: string[] = [];
let app: FastifyInstance;
let base: string;
let assets: string;

const actions = [
  defineAction({
    name: 'Whoami',
    params: { Items: param.stringList({}, { pattern: /^[a-z]+$/ }) },
    handle: async (p, ctx) => ({ Account: ctx.account, AccessKeyId: ctx.accessKeyId, Items: p.Items ?? [] }),
  }),
];

beforeAll(async () => {
  assets = mkdtempSync(join(tmpdir(), 'cpb-console-'));
  writeFileSync(join(assets, 'main.js'), 'console.log(1)');
  writeFileSync(join(assets, 'main.css'), 'body{}');
  const sink = new Writable({ write: (chunk, _enc, done) => done(void logged.push(String(chunk))) });
  app = buildApi({
    actions,
    credentials: { find: async (id) => KEYS.get(id) ?? null },
    nonces: new MemoryNonceStore(),
    logger: pino({ level: 'debug' }, sink),
    console: {
      sessions,
      assetsDir: `${assets}/`,
      verdicts: async (account, backupFileId) => ({ backupFileId, restorable: true, reason: account, targets: [] }),
    },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await app.close();
  rmSync(assets, { recursive: true, force: true });
});

async function send(path: string, init: RequestInit = {}) {
  const res = await fetch(`${base}${path}`, init);
  return {
    status: res.status,
    headers: res.headers,
    body: (await res.json().catch(() => ({}))) as Record<string, unknown>,
  };
}

const json = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

async function signIn(id: string, secret: string) {
  const res = await send('/console/api/session', json({ AccessKeyId: id, AccessKeySecret: secret }));
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  return { ...res, cookie, csrf: String(res.body.CsrfToken) };
}

const whoami = (s: { cookie: string; csrf: string }, headers: Record<string, string> = {}) =>
  send(
    '/console/api/actions/Whoami',
    json({ Items: ['x', 'y'] }, { cookie: s.cookie, 'x-cpb-csrf': s.csrf, ...headers }),
  );

describe('console sign-in', () => {
  it('refuses a wrong secret and an unknown key alike, and sets no cookie', async () => {
    for (const [id, secret] of [
      ['AKID-a', 'wrong'],
      ['AKID-nobody', 'secret-of-a'],
    ] as const) {
      const res = await signIn(id, secret);
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ Code: 'InvalidCredentials', RequestId: expect.any(String) });
      expect(res.headers.get('set-cookie')).toBeNull();
    }
  });

  it('answers a session cookie: HttpOnly, SameSite=Strict, path /console; the secret and token never logged', async () => {
    const s = await signIn('AKID-a', 'secret-of-a');
    expect(s.status).toBe(200);
    expect(s.body).toMatchObject({ Account: 'acme', AccessKeyId: 'AKID-a', IdleTimeoutSeconds: 1800 });
    expect(s.headers.get('set-cookie')).toMatch(
      /^cpb_console=[\w-]{43}; Path=\/console; Max-Age=28800; HttpOnly; SameSite=Strict$/,
    );
    expect(await whoami(s)).toMatchObject({ status: 200, body: { Account: 'acme', Items: ['x', 'y'] } });
    const log = logged.join('');
    expect(log).toContain('"Action":"Whoami"');
    for (const secret of ['secret-of-a', s.cookie.split('=')[1] as string, s.csrf]) expect(log).not.toContain(secret);
  });
});

describe('console calls', () => {
  it('run the action with the session’s account only', async () => {
    const a = await signIn('AKID-a', 'secret-of-a');
    const b = await signIn('AKID-b', 'secret-of-b');
    expect((await whoami(b)).body.Account).toBe('bravo');
    // b's cookie with a's CSRF token (or the reverse) is refused
    expect((await whoami({ cookie: b.cookie, csrf: a.csrf })).status).toBe(403);
    const verdict = await send('/console/api/restore-verdicts', {
      ...json({ BackupFileId: 'bf-x', AndroidInstanceIdList: ['acp-y'] }, { cookie: a.cookie, 'x-cpb-csrf': a.csrf }),
    });
    expect(verdict.body).toMatchObject({ backupFileId: 'bf-x', reason: 'acme' });
  });

  it('refuse a missing session, a missing CSRF header, another origin and a form body', async () => {
    const s = await signIn('AKID-a', 'secret-of-a');
    expect((await whoami({ cookie: '', csrf: s.csrf })).body.Code).toBe('ConsoleSessionRequired');
    expect((await whoami({ cookie: s.cookie, csrf: '' })).body.Code).toBe('Forbidden');
    expect((await whoami(s, { origin: 'http://evil.example' })).status).toBe(403);
    expect((await whoami(s, { 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect((await whoami(s, { origin: 'null' })).status).toBe(403);
    expect((await whoami(s, { origin: base, 'sec-fetch-site': 'same-origin' })).status).toBe(200);
    // behind a proxy that ends TLS the page is https, this process http: the host is what must match
    expect((await whoami(s, { origin: base.replace('http:', 'https:') })).status).toBe(200);
    const form = await send('/console/api/actions/Whoami', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: s.cookie, 'x-cpb-csrf': s.csrf },
      body: 'Items.1=x',
    });
    expect(form).toMatchObject({ status: 415, body: { Code: 'UnsupportedMediaType' } });
  });

  it('validate parameters with the action’s own spec and name unknown actions as the API does', async () => {
    const s = await signIn('AKID-a', 'secret-of-a');
    const bad = await send(
      '/console/api/actions/Whoami',
      json({ Items: ['NOT LOWER'] }, { cookie: s.cookie, 'x-cpb-csrf': s.csrf }),
    );
    expect(bad).toMatchObject({ status: 400, body: { Code: 'InvalidParameter' } });
    const unknown = await send('/console/api/actions/Nope', json({}, { cookie: s.cookie, 'x-cpb-csrf': s.csrf }));
    expect(unknown).toMatchObject({ status: 404, body: { Code: 'InvalidAction.NotFound' } });
  });

  it('end after the idle time, at sign-out, and when the key is deleted', async () => {
    const idle = await signIn('AKID-a', 'secret-of-a');
    clock += IDLE_MS - 1;
    expect((await whoami(idle)).status).toBe(200); // used: its idle time starts again
    clock += IDLE_MS;
    expect((await whoami(idle)).body.Code).toBe('ConsoleSessionRequired');
    const out = await signIn('AKID-a', 'secret-of-a');
    const signedOut = await send('/console/api/session', {
      method: 'DELETE',
      headers: { cookie: out.cookie, 'x-cpb-csrf': out.csrf },
    });
    expect(signedOut.headers.get('set-cookie')).toMatch(/^cpb_console=; Path=\/console; Max-Age=0/);
    expect((await whoami(out)).status).toBe(401);
    const deleted = await signIn('AKID-b', 'secret-of-b');
    const key = KEYS.get('AKID-b');
    KEYS.delete('AKID-b');
    try {
      expect((await whoami(deleted)).body.Code).toBe('ConsoleSessionRequired');
    } finally {
      if (key) KEYS.set('AKID-b', key);
    }
  });
});

describe('console page', () => {
  it('is served with a CSP that allows only its own origin, and its assets by name only', async () => {
    const page = await fetch(`${base}/console`);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await page.text()).toContain('/console/assets/main.js');
    expect(await (await fetch(`${base}/console/assets/main.js`)).text()).toBe('console.log(1)');
    expect((await fetch(`${base}/console/assets/..%2Fmain.js`)).status).toBe(404);
    expect((await fetch(`${base}/console/assets/other.js`)).status).toBe(404);
  });
});
