import { describe, expect, it } from 'vitest';
import { SessionStore } from './sessions.ts';

describe('SessionStore', () => {
  it('ends a session after its idle time, and any session at its maximum age however used', () => {
    let now = 0;
    const store = new SessionStore({ idleMs: 100, maxMs: 250 }, () => now);
    const { token, session } = store.create('acme', 'AKID');
    expect(session).toMatchObject({ account: 'acme', accessKeyId: 'AKID', csrf: expect.stringMatching(/^[\w-]{43}$/) });
    for (now = 90; now < 250; now += 90) expect(store.touch(token)).toBe(session);
    now = 250;
    expect(store.touch(token)).toBeUndefined();
    const idle = store.create('acme', 'AKID');
    now += 100;
    expect(store.touch(idle.token)).toBeUndefined();
    expect(store.size).toBe(0);
  });

  it('knows a session by its token only, and ends every session of a deleted key', () => {
    const store = new SessionStore({ idleMs: 1000, maxMs: 1000 });
    const a = store.create('acme', 'AKID-a');
    const b = store.create('acme', 'AKID-b');
    expect(a.token).not.toBe(b.token);
    expect(store.touch(a.session.csrf)).toBeUndefined();
    store.deleteKey('AKID-a');
    expect(store.touch(a.token)).toBeUndefined();
    expect(store.touch(b.token)).toBe(b.session);
  });
});
