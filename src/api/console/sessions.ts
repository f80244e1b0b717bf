import { createHash, randomBytes } from 'node:crypto';

// Console sessions, kept in this process's memory: a restart signs everyone out, and with several
// API processes behind one address a browser must keep reaching the one it signed in to
// (docs/console.md). The cookie carries a random token; the store keys sessions by its SHA-256,
// so what the process holds cannot be replayed as a cookie.

export interface ConsoleSession {
  readonly account: string;
  readonly accessKeyId: string;
  /** sent back by the page in the X-CPB-CSRF header of every console API call */
  readonly csrf: string;
  readonly created: number;
  lastSeen: number;
}

export interface SessionLimits {
  /** a session unused this long is gone */
  idleMs: number;
  /** and any session this old, used or not */
  maxMs: number;
}

/** a bound on what strangers can make the process hold; the oldest session goes first */
const MAX_SESSIONS = 10_000;

const digest = (token: string) => createHash('sha256').update(token).digest('base64url');
const randomToken = () => randomBytes(32).toString('base64url');

export class SessionStore {
  readonly #sessions = new Map<string, ConsoleSession>();

  constructor(
    readonly limits: SessionLimits,
    private readonly now: () => number = Date.now,
  ) {}

  create(account: string, accessKeyId: string): { token: string; session: ConsoleSession } {
    this.#sweep();
    const oldest = this.#sessions.keys().next();
    if (this.#sessions.size >= MAX_SESSIONS && !oldest.done) this.#sessions.delete(oldest.value);
    const now = this.now();
    const token = randomToken();
    const session: ConsoleSession = { account, accessKeyId, csrf: randomToken(), created: now, lastSeen: now };
    this.#sessions.set(digest(token), session);
    return { token, session };
  }

  /** the live session of a cookie's token, its idle time started again; undefined when unknown or expired */
  touch(token: string): ConsoleSession | undefined {
    const key = digest(token);
    const session = this.#sessions.get(key);
    if (!session) return undefined;
    if (this.#expired(session)) {
      this.#sessions.delete(key);
      return undefined;
    }
    session.lastSeen = this.now();
    return session;
  }

  delete(token: string): void {
    this.#sessions.delete(digest(token));
  }

  /** ends every session signed in with this key (it was deleted, or its account changed) */
  deleteKey(accessKeyId: string): void {
    for (const [key, s] of this.#sessions) if (s.accessKeyId === accessKeyId) this.#sessions.delete(key);
  }

  get size(): number {
    return this.#sessions.size;
  }

  #expired(s: ConsoleSession): boolean {
    const now = this.now();
    return now - s.lastSeen >= this.limits.idleMs || now - s.created >= this.limits.maxMs;
  }

  #sweep(): void {
    for (const [key, s] of this.#sessions) if (this.#expired(s)) this.#sessions.delete(key);
  }
}
