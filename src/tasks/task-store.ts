import type { ExpressionBuilder, Kysely, UpdateQueryBuilder, UpdateResult } from 'kysely';
import { refreshBatch } from '../db/batch-status.ts';
import type { Database, TaskTable } from '../db/schema.ts';
import { type Task, toTask } from '../db/tasks-repo.ts';
import { ERRORS } from '../errors.ts';

// The task queue's SQL, all of it. Every state change is a conditional UPDATE on the status and,
// for a running task, on its lease owner AND attempt number: the attempt is the fencing token, so
// a runner that lost its lease (and a newer attempt that took the task over) can never have a
// stale write land, however late it comes. A partial unique index (migrations.ts) keeps a phone
// to one Processing task even when two runners race.

export type Outcome =
  | { status: 'Finished'; result: string | null; value?: unknown }
  | { status: 'Failed'; errorCode: string; errorMsg: string };

/** a run of a task: who runs it and which attempt it is (the fencing token) */
export interface Held {
  owner: string;
  attempt: number;
}

const iso = (ms: number) => new Date(ms).toISOString();

function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

/**
 * What a task's start and end imply elsewhere (src/backup/lifecycle.ts), applied in the very
 * transaction that claims or settles it. `value` is the handler's return value (Finished only).
 */
export interface TaskHooks {
  onClaimed(tx: Kysely<Database>, task: Task): Promise<void>;
  onSettled(tx: Kysely<Database>, task: Task, value: unknown): Promise<void>;
}

const NO_HOOKS: TaskHooks = { onClaimed: async () => {}, onSettled: async () => {} };

type Fields = Partial<
  Pick<
    TaskTable,
    'status' | 'result' | 'errorCode' | 'errorMsg' | 'startTime' | 'finishTime' | 'notBefore' | 'cancelRequested'
  >
>;
type TaskUpdate = UpdateQueryBuilder<Database, 'tasks', 'tasks', UpdateResult>;
const holds = (held: Held) => (eb: ExpressionBuilder<Database, 'tasks'>) =>
  eb.and([eb('leaseOwner', '=', held.owner), eb('attempts', '=', held.attempt)]);
type Guard = { held: Held } | { expiredBefore: string } | { waiting: true };

export class TaskStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly hooks: TaskHooks = NO_HOOKS,
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
      const task = toTask(row);
      await this.hooks.onClaimed(tx, task);
      return task;
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

  /**
   * The fence before a run publishes anything (an archive, its sidecar): true when this run
   * still holds the task, which is then leased for another `leaseMs`, so no other runner can take
   * it over before the publish is done. False when it was taken over or cancelled.
   */
  async fence(held: Held, id: string, leaseMs: number): Promise<boolean> {
    const row = await this.held(this.db.updateTable('tasks'), held, id)
      .set({ leaseExpires: iso(Date.now() + leaseMs) })
      .where('cancelRequested', 'is', null)
      .returning('id')
      .executeTakeFirst();
    return row !== undefined;
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

  /** the tasks this owner runs that CancelTasks asked to stop */
  async cancelRequested(owner: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('tasks')
      .select('id')
      .where('leaseOwner', '=', owner)
      .where('status', '=', 'Processing')
      .where('cancelRequested', 'is not', null)
      .execute();
    return rows.map((r) => r.id);
  }

  async progress(held: Held, id: string, done: number, total: number): Promise<void> {
    await this.held(this.db.updateTable('tasks'), held, id)
      .set({ bytesDone: done, bytesTotal: total, modified: iso(Date.now()) })
      .execute();
  }

  /** Finishes or fails a task this run holds; null when it lost the task meanwhile. */
  settle(held: Held, id: string, outcome: Outcome): Promise<Task | null> {
    const now = iso(Date.now());
    const fields =
      outcome.status === 'Finished'
        ? { status: outcome.status, result: outcome.result, errorCode: null, errorMsg: null }
        : { status: outcome.status, result: null, errorCode: outcome.errorCode, errorMsg: outcome.errorMsg };
    const value = outcome.status === 'Finished' ? outcome.value : undefined;
    return this.transition(id, now, { ...fields, finishTime: now, notBefore: null }, { held }, value);
  }

  /**
   * Puts a task this run holds back in the queue after a transient fault, not to be claimed
   * before `delayMs` from now; its last error stays visible meanwhile. Null when it lost the task.
   */
  retry(held: Held, id: string, delayMs: number, error: { code: string; message: string }): Promise<Task | null> {
    const now = Date.now();
    const fields = { status: 'Waiting', startTime: null, notBefore: iso(now + delayMs) } as const;
    return this.transition(id, iso(now), { ...fields, errorCode: error.code, errorMsg: error.message }, { held });
  }

  /** Hands a task this run holds back to the queue (a stopping runner). */
  async release(held: Held, id: string): Promise<void> {
    await this.transition(id, iso(Date.now()), { status: 'Waiting', startTime: null }, { held });
  }

  /**
   * CancelTasks on one per-instance task: a Waiting one fails now with TaskCancelled; a
   * Processing one is marked, and its runner stops it (or, if the runner is dead, recoverExpired
   * fails it instead of running it again). Returns the task as it now is, or null if settled.
   */
  async cancel(id: string, by: string): Promise<{ task: Task; settled: boolean } | null> {
    const now = iso(Date.now());
    const e = ERRORS.taskCancelled(by);
    const failed = { status: 'Failed', errorCode: e.code, errorMsg: e.message, finishTime: now } as const;
    const task = await this.transition(id, now, { ...failed, startTime: null, notBefore: null }, { waiting: true });
    if (task) return { task, settled: true };
    const row = await this.db
      .updateTable('tasks')
      .set({ cancelRequested: `${now} ${by}` })
      .where('id', '=', id)
      .where('status', '=', 'Processing')
      .returningAll()
      .executeTakeFirst();
    return row ? { task: toTask(row), settled: false } : null;
  }

  /**
   * Tasks whose runner died (lease expired): back to Waiting to run again from the start, or,
   * after `maxAttempts` claims or once cancelled, Failed. Returns the ones failed here.
   */
  async recoverExpired(maxAttempts: number): Promise<Task[]> {
    const now = iso(Date.now());
    const expired = await this.db
      .selectFrom('tasks')
      .select(['id', 'attempts', 'cancelRequested'])
      .where('status', '=', 'Processing')
      .where('level', '=', 2)
      .where('leaseExpires', '<', now)
      .execute();
    const failed: Task[] = [];
    for (const t of expired) {
      const onlyIfExpired = { expiredBefore: now };
      const attempts = Number(t.attempts);
      if (t.cancelRequested || attempts >= maxAttempts) {
        const e = t.cancelRequested
          ? ERRORS.taskCancelled(t.cancelRequested.replace(/^\S+ /, ''))
          : ERRORS.taskInterrupted(attempts);
        const fields = { status: 'Failed', errorCode: e.code, errorMsg: e.message, finishTime: now } as const;
        const task = await this.transition(t.id, now, fields, onlyIfExpired);
        if (task) failed.push(task);
      } else {
        await this.transition(t.id, now, { status: 'Waiting', startTime: null }, onlyIfExpired);
      }
    }
    return failed;
  }

  /** restricts an UPDATE to the task while this run holds it (the owner and fencing token) */
  private held(q: TaskUpdate, held: Held, id: string): TaskUpdate {
    return q.where('id', '=', id).where('status', '=', 'Processing').where(holds(held));
  }

  /** Moves a task to a new state, refreshes its batch and applies what settling it implies. */
  private transition(id: string, now: string, fields: Fields, guard: Guard, value?: unknown): Promise<Task | null> {
    return this.db.transaction().execute(async (tx) => {
      let q = tx
        .updateTable('tasks')
        .set({ ...fields, leaseOwner: null, leaseExpires: null, modified: now })
        .where('id', '=', id);
      if ('held' in guard) {
        q = q.where('status', '=', 'Processing').where(holds(guard.held));
      } else if ('expiredBefore' in guard) {
        q = q.where('status', '=', 'Processing').where('leaseExpires', '<', guard.expiredBefore);
      } else {
        q = q.where('status', '=', 'Waiting');
      }
      const row = await q.returningAll().executeTakeFirst();
      if (!row) return null;
      if (row.parentId) await refreshBatch(tx, row.parentId, now);
      const task = toTask(row);
      if (task.status === 'Finished' || task.status === 'Failed') await this.hooks.onSettled(tx, task, value);
      return task;
    });
  }
}
