import type { Kysely } from 'kysely';
import { refreshBatch } from '../db/batch-status.ts';
import type { Database } from '../db/schema.ts';
import { type Task, toTask } from '../db/tasks-repo.ts';
import { ERRORS } from '../errors.ts';

// The embedded runner's SQL. Every state change is a conditional UPDATE (on status and lease
// owner), so runners sharing a database never act twice on one task; a partial unique index
// (migrations.ts) keeps a phone to one Processing task even when two runners race.

export type Outcome =
  | { status: 'Finished'; result: string | null }
  | { status: 'Failed'; errorCode: string; errorMsg: string };

const iso = (ms: number) => new Date(ms).toISOString();

function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

/** what settling a task implies elsewhere, applied in the same transaction (src/backup/lifecycle.ts) */
export type SettleHook = (tx: Kysely<Database>, task: Task) => Promise<void>;

export class TaskStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly onSettle: SettleHook = async () => {},
  ) {}

  /** Claims up to `limit` Waiting tasks, oldest first, skipping phones that are busy. */
  async claim(owner: string, limit: number, leaseMs: number): Promise<Task[]> {
    const candidates = await this.db
      .selectFrom('tasks as t')
      .select(['t.id', 't.instanceId'])
      .where('t.status', '=', 'Waiting')
      .where('t.level', '=', 2)
      .where((eb) => eb.or([eb('t.notBefore', 'is', null), eb('t.notBefore', '<=', iso(Date.now()))]))
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('tasks as p')
              .select('p.id')
              .whereRef('p.instanceId', '=', 't.instanceId')
              .where('p.status', '=', 'Processing'),
          ),
        ),
      )
      .orderBy('t.created')
      .orderBy('t.id')
      .limit(limit * 4)
      .execute();
    const claimed: Task[] = [];
    const phones = new Set<string | null>();
    for (const c of candidates) {
      if (claimed.length >= limit) break;
      if (phones.has(c.instanceId)) continue;
      phones.add(c.instanceId);
      const task = await this.claimOne(c.id, owner, leaseMs).catch((err: unknown) => {
        if (isUniqueViolation(err)) return null; // another runner started a task on this phone
        throw err;
      });
      if (task) claimed.push(task);
    }
    return claimed;
  }

  private claimOne(id: string, owner: string, leaseMs: number): Promise<Task | null> {
    const now = Date.now();
    return this.db.transaction().execute(async (tx) => {
      const row = await tx
        .updateTable('tasks')
        .set((eb) => ({
          status: 'Processing',
          attempts: eb('attempts', '+', 1),
          leaseOwner: owner,
          leaseExpires: iso(now + leaseMs),
          startTime: iso(now),
          bytesDone: 0,
          modified: iso(now),
        }))
        .where('id', '=', id)
        .where('status', '=', 'Waiting')
        .returningAll()
        .executeTakeFirst();
      if (!row) return null;
      if (row.parentId) await refreshBatch(tx, row.parentId, iso(now));
      return toTask(row);
    });
  }

  /** Extends the leases; returns the ids this owner no longer holds. */
  async heartbeat(owner: string, ids: string[], leaseMs: number): Promise<string[]> {
    if (!ids.length) return [];
    const held = await this.db
      .updateTable('tasks')
      .set({ leaseExpires: iso(Date.now() + leaseMs) })
      .where('id', 'in', ids)
      .where('leaseOwner', '=', owner)
      .where('status', '=', 'Processing')
      .returning('id')
      .execute();
    const still = new Set(held.map((r) => r.id));
    return ids.filter((id) => !still.has(id));
  }

  /** true once the task is no longer this owner's (its lease expired and it was recovered) */
  async lostLease(owner: string, id: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('tasks')
      .select('id')
      .where('id', '=', id)
      .where('leaseOwner', '=', owner)
      .where('status', '=', 'Processing')
      .executeTakeFirst();
    return !row;
  }

  async progress(owner: string, id: string, done: number, total: number): Promise<void> {
    await this.db
      .updateTable('tasks')
      .set({ bytesDone: done, bytesTotal: total, modified: iso(Date.now()) })
      .where('id', '=', id)
      .where('leaseOwner', '=', owner)
      .where('status', '=', 'Processing')
      .execute();
  }

  /** Finishes or fails a task this owner holds; null when it lost the task meanwhile. */
  settle(owner: string, id: string, outcome: Outcome): Promise<Task | null> {
    const now = iso(Date.now());
    const fields =
      outcome.status === 'Finished'
        ? { status: outcome.status, result: outcome.result, errorCode: null, errorMsg: null }
        : { status: outcome.status, result: null, errorCode: outcome.errorCode, errorMsg: outcome.errorMsg };
    return this.transition(id, now, { ...fields, finishTime: now, notBefore: null }, { owner });
  }

  /**
   * Puts a task this owner holds back in the queue after a transient fault, not to be claimed
   * before `delayMs` from now; its last error stays visible meanwhile. Null when it lost the task.
   */
  retry(owner: string, id: string, delayMs: number, error: { code: string; message: string }): Promise<Task | null> {
    const now = Date.now();
    return this.transition(
      id,
      iso(now),
      {
        status: 'Waiting',
        startTime: null,
        notBefore: iso(now + delayMs),
        errorCode: error.code,
        errorMsg: error.message,
      },
      { owner },
    );
  }

  /** Hands a task this owner holds back to the queue (a stopping runner). */
  async release(owner: string, id: string): Promise<void> {
    const now = iso(Date.now());
    await this.transition(id, now, { status: 'Waiting', startTime: null }, { owner });
  }

  /**
   * Tasks whose runner died (lease expired): back to Waiting to run again from the start, or,
   * after `maxAttempts` claims, Failed with TaskInterrupted. Returns the ones failed here.
   */
  async recoverExpired(maxAttempts: number): Promise<Task[]> {
    const now = iso(Date.now());
    const expired = await this.db
      .selectFrom('tasks')
      .select(['id', 'attempts'])
      .where('status', '=', 'Processing')
      .where('level', '=', 2)
      .where('leaseExpires', '<', now)
      .execute();
    const failed: Task[] = [];
    for (const t of expired) {
      const onlyIfExpired = { expiredBefore: now };
      if (Number(t.attempts) >= maxAttempts) {
        const e = ERRORS.taskInterrupted(Number(t.attempts));
        const task = await this.transition(
          t.id,
          now,
          { status: 'Failed', errorCode: e.code, errorMsg: e.message, finishTime: now },
          onlyIfExpired,
        );
        if (task) failed.push(task);
      } else {
        await this.transition(t.id, now, { status: 'Waiting', startTime: null }, onlyIfExpired);
      }
    }
    return failed;
  }

  /** Moves a Processing task (held by `owner`, or with a lease expired before then) to a new state and refreshes its batch. */
  private transition(
    id: string,
    now: string,
    fields: Partial<
      Pick<Database['tasks'], 'status' | 'result' | 'errorCode' | 'errorMsg' | 'startTime' | 'finishTime' | 'notBefore'>
    >,
    guard: { owner: string } | { expiredBefore: string },
  ): Promise<Task | null> {
    return this.db.transaction().execute(async (tx) => {
      const row = await tx
        .updateTable('tasks')
        .set({ ...fields, leaseOwner: null, leaseExpires: null, modified: now })
        .where('id', '=', id)
        .where('status', '=', 'Processing')
        .where((eb) =>
          'owner' in guard ? eb('leaseOwner', '=', guard.owner) : eb('leaseExpires', '<', guard.expiredBefore),
        )
        .returningAll()
        .executeTakeFirst();
      if (!row) return null;
      if (row.parentId) await refreshBatch(tx, row.parentId, now);
      const task = toTask(row);
      if (task.status === 'Finished' || task.status === 'Failed') await this.onSettle(tx, task);
      return task;
    });
  }
}
