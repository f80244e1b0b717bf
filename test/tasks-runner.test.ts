import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Db } from '../src/db/database.ts';
import type { Task } from '../src/db/tasks-repo.ts';
import { BACKENDS, openTestDatabase, type TestDatabase } from '../src/db/testing.ts';
import { ERRORS } from '../src/errors.ts';
import { EmbeddedRunner, type EmbeddedRunnerOptions } from '../src/tasks/embedded-runner.ts';
import type { TaskHandler } from '../src/tasks/task-queue.ts';

const ACCOUNT = 'acme';

/** polls until `check` returns a value other than undefined/false (never a fixed sleep) */
async function waitFor<T>(check: () => Promise<T | undefined | false>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** a promise the test resolves when it wants a handler to go on */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => {
    open = r;
  });
  return { open, opened };
}

describe.each(BACKENDS)('embedded runner on %s', (backend) => {
  let t: TestDatabase;
  let db: Db;
  const runners: EmbeddedRunner[] = [];
  const errors: unknown[] = [];

  beforeEach(async () => {
    t = await openTestDatabase(backend);
    db = t.db;
    errors.length = 0;
  });
  afterEach(async () => {
    await Promise.all(runners.splice(0).map((r) => r.stop()));
    await t?.dispose();
    expect(errors).toEqual([]);
  });

  const runner = (opts: EmbeddedRunnerOptions = {}, on: Db = db) => {
    const r = new EmbeddedRunner(on.kysely, {
      pollIntervalMs: 50,
      onError: (err, ctx) => errors.push(`${ctx}: ${String(err)}`),
      ...opts,
    });
    runners.push(r);
    return r;
  };

  const batch = (instances: string[], invokeId = 'REQ') =>
    db.tasks.createBatch(ACCOUNT, {
      type: 'BackupApp',
      invokeId,
      param: { apps: ['com.example.notes'] },
      children: instances.map((id) => ({ instanceId: id, instanceName: `name-${id}`, param: { instanceId: id } })),
    });

  const settled = (id: string) =>
    waitFor(async () => {
      const task = await db.tasks.get(ACCOUNT, id);
      return task && ['Finished', 'Failed', 'PartFinished'].includes(task.status) ? task : undefined;
    }, `task ${id} to settle`);

  it('runs a batch, stores results and settles the batch', async () => {
    const { batch: b, children } = await batch(['acp-1', 'acp-2', 'acp-3']);
    const seen: Task[] = [];
    const r = runner();
    r.onSettled((task) => {
      seen.push(task);
    });
    await r.start(async (task) => ({ instance: task.instanceId, param: JSON.parse(task.param) }));
    r.notify();
    const done = await settled(b.id);
    expect(done).toMatchObject({
      status: 'Finished',
      totalChildCount: 3,
      successChildCount: 3,
      failedChildCount: 0,
      runningChildCount: 0,
    });
    expect(done.startTime).not.toBeNull();
    expect(done.finishTime! >= done.startTime!).toBe(true);
    const child = await db.tasks.get(ACCOUNT, children[1]!.id);
    expect(child).toMatchObject({ status: 'Finished', attempts: 1, errorCode: null });
    expect(JSON.parse(child!.result!)).toEqual({ instance: 'acp-2', param: { instanceId: 'acp-2' } });
    await waitFor(async () => seen.length === 3, 'three settled events');
    expect(seen.map((s) => s.id).sort()).toEqual(children.map((c) => c.id).sort());
  });

  it('notify() wakes an idle runner at once', async () => {
    const first = await batch(['acp-1'], 'REQ-1');
    const r = runner({ pollIntervalMs: 60_000 });
    await r.start(async () => 'ok');
    await settled(first.batch.id);
    // the loop now sleeps for a minute; only notify() can get the next task going in time
    const second = await batch(['acp-2'], 'REQ-2');
    r.notify();
    expect(await settled(second.batch.id)).toMatchObject({ status: 'Finished' });
  });

  it('stores ServiceError codes, other errors as InternalError, and derives PartFinished/Failed', async () => {
    const mixed = await batch(['acp-ok', 'acp-svc', 'acp-boom'], 'REQ-MIX');
    const failing = await batch(['acp-f1', 'acp-f2'], 'REQ-FAIL');
    await runner({ concurrency: 5 }).start(async (task) => {
      if (task.instanceId === 'acp-svc' || task.instanceId === 'acp-f1') {
        throw ERRORS.instanceUnreachable(task.instanceId, 'connection refused');
      }
      if (task.instanceId !== 'acp-ok') throw new Error('disk on fire');
    });
    expect(await settled(mixed.batch.id)).toMatchObject({
      status: 'PartFinished',
      successChildCount: 1,
      failedChildCount: 2,
    });
    expect(await settled(failing.batch.id)).toMatchObject({ status: 'Failed', failedChildCount: 2 });
    const byInstance = new Map(
      (await db.tasks.list(ACCOUNT, { level: 2 }, { maxResults: 100 })).items.map((x) => [x.instanceId, x]),
    );
    expect(byInstance.get('acp-svc')).toMatchObject({
      status: 'Failed',
      errorCode: 'InstanceUnreachable',
      errorMsg: 'Instance acp-svc cannot be reached over ADB: connection refused',
    });
    expect(byInstance.get('acp-boom')).toMatchObject({ errorCode: 'InternalError', errorMsg: 'disk on fire' });
    expect(byInstance.get('acp-ok')).toMatchObject({ status: 'Finished', result: null });
  });

  it('never runs more than `concurrency` tasks, nor two on one phone', async () => {
    const phones = ['acp-1', 'acp-1', 'acp-1', 'acp-2', 'acp-3', 'acp-4', 'acp-2'];
    const { batch: b, children } = await batch(phones);
    let active = 0;
    let maxActive = 0;
    const perPhone = new Map<string, number>();
    let overlap = false;
    const order: string[] = [];
    await runner({ concurrency: 3 }).start(async (task) => {
      const phone = task.instanceId!;
      active++;
      perPhone.set(phone, (perPhone.get(phone) ?? 0) + 1);
      maxActive = Math.max(maxActive, active);
      if (perPhone.get(phone) !== 1) overlap = true;
      order.push(task.id);
      // let the loop try to claim more while this one is busy
      await new Promise((r) => setTimeout(r, 30));
      perPhone.set(phone, perPhone.get(phone)! - 1);
      active--;
    });
    expect(await settled(b.id)).toMatchObject({ status: 'Finished' });
    expect(overlap).toBe(false);
    expect(maxActive).toBe(3);
    expect(order).toHaveLength(phones.length);
    const acp1 = children.filter((c) => c.instanceId === 'acp-1').map((c) => c.id);
    expect(order.filter((id) => acp1.includes(id))).toEqual([...acp1].sort((x, y) => (x < y ? -1 : 1)));
  });

  it('reports progress while running, throttled, and keeps the final value', async () => {
    const { children } = await batch(['acp-1']);
    const g = gate();
    await runner({ progressIntervalMs: 100 }).start(async (_task, ctx) => {
      for (let i = 1; i <= 5000; i++) ctx.progress(i * 10, 100_000);
      await g.opened;
      ctx.progress(100_000, 100_000);
    });
    const mid = await waitFor(async () => {
      const task = await db.tasks.get(ACCOUNT, children[0]!.id);
      return task && task.bytesDone > 0 ? task : undefined;
    }, 'progress');
    expect(mid).toMatchObject({ status: 'Processing', bytesDone: 50_000, bytesTotal: 100_000 });
    g.open();
    expect(await settled(children[0]!.id)).toMatchObject({ status: 'Finished', bytesDone: 100_000 });
  });

  it('re-runs a task whose runner died, then gives up with TaskInterrupted', async () => {
    const retry = await batch(['acp-1'], 'REQ-RETRY');
    const giveUp = await batch(['acp-2'], 'REQ-GIVEUP');
    const past = new Date(Date.now() - 60_000).toISOString();
    const orphan = (id: string, attempts: number) =>
      db.kysely
        .updateTable('tasks')
        .set({ status: 'Processing', attempts, leaseOwner: 'dead-host:1:x', leaseExpires: past, startTime: past })
        .where('id', '=', id)
        .execute();
    await orphan(retry.children[0]!.id, 1);
    await orphan(giveUp.children[0]!.id, 3);
    const events: Task[] = [];
    const ran: string[] = [];
    const r = runner({ maxAttempts: 3 });
    r.onSettled((task) => {
      events.push(task);
    });
    await r.start(async (task) => {
      ran.push(task.id);
      return 'again';
    });
    expect(await settled(retry.children[0]!.id)).toMatchObject({ status: 'Finished', attempts: 2 });
    const failed = await settled(giveUp.children[0]!.id);
    expect(failed).toMatchObject({ status: 'Failed', errorCode: 'TaskInterrupted', attempts: 3 });
    expect(failed.errorMsg).toContain('stopped 3 time(s)');
    expect(await settled(giveUp.batch.id)).toMatchObject({ status: 'Failed' });
    expect(ran).toEqual([retry.children[0]!.id]);
    await waitFor(async () => events.length === 2, 'settled events for both');
  });

  it('stops renewing the lease of a task that makes no progress, aborts it and runs it again', async () => {
    const { children } = await batch(['acp-1'], 'REQ-STALL');
    const aborted: unknown[] = [];
    let runs = 0;
    // a lease with room for a loaded machine's late renewals while the task still moves: at 300 ms
    // one clean-clone CI run on PostgreSQL counted 3 attempts instead of 2
    await runner({ leaseMs: 1000, stallMs: 1200, maxAttempts: 2 }).start(async (_task, ctx) => {
      runs++;
      if (runs === 2) return 'recovered';
      // a stalled phone: some progress, then nothing, until the runner gives the task up
      ctx.progress(1, 10);
      await new Promise((_, reject) =>
        ctx.signal.addEventListener('abort', () => {
          aborted.push(ctx.signal.reason);
          reject(ctx.signal.reason);
        }),
      );
    });
    expect(await settled(children[0]!.id)).toMatchObject({ status: 'Finished', attempts: 2 });
    expect(runs).toBe(2);
    expect(String(aborted[0])).toMatch(/taken over/);
  });

  it('keeps renewing the lease of a slow task that keeps making progress', async () => {
    const { children } = await batch(['acp-1'], 'REQ-SLOW');
    await runner({ leaseMs: 300, stallMs: 400 }).start(async (_task, ctx) => {
      for (let i = 0; i < 12; i++) {
        ctx.progress(i, 12);
        await new Promise((r) => setTimeout(r, 100));
      }
      return 'slow but alive';
    });
    expect(await settled(children[0]!.id)).toMatchObject({ status: 'Finished', attempts: 1 });
  });

  it('retries a transient fault after its backoff, showing the last error meanwhile, and fails a permanent one at once', async () => {
    const { children } = await batch(['acp-1', 'acp-2'], 'REQ-RETRY-POLICY');
    const [flaky, broken] = children.map((c) => c.id) as [string, string];
    const runs = new Map<string, number[]>();
    const delays: number[] = [];
    const r = runner({
      maxAttempts: 3,
      retryDelay: (task, err) => {
        if (!err.transient || task.attempts >= 3) return null;
        delays.push(task.attempts);
        return 400;
      },
    });
    await r.start(async (task) => {
      const at = runs.get(task.id) ?? [];
      at.push(Date.now());
      runs.set(task.id, at);
      if (task.id === broken) throw ERRORS.appNotInstalled('com.x.y', 'acp-2');
      if (at.length === 1) throw ERRORS.instanceUnreachable('acp-1', 'connection reset');
      return 'second time lucky';
    });
    const waiting = await waitFor(async () => {
      const t = await db.tasks.get(ACCOUNT, flaky);
      return t?.status === 'Waiting' && t.errorCode ? t : undefined;
    }, 'the flaky task back in the queue');
    expect(waiting).toMatchObject({ errorCode: 'InstanceUnreachable', attempts: 1 });
    expect(await settled(flaky)).toMatchObject({ status: 'Finished', attempts: 2, errorCode: null });
    const [first, second] = runs.get(flaky) as [number, number];
    expect(second - first).toBeGreaterThanOrEqual(390);
    expect(await settled(broken)).toMatchObject({ status: 'Failed', errorCode: 'AppNotInstalled', attempts: 1 });
    expect(runs.get(broken)).toHaveLength(1);
    expect(delays).toEqual([1]);
  });

  it('keeps a phone busy while a live lease holds it', async () => {
    const first = await batch(['acp-1'], 'REQ-A');
    const second = await batch(['acp-1', 'acp-2'], 'REQ-B');
    const soon = new Date(Date.now() + 400).toISOString();
    await db.kysely
      .updateTable('tasks')
      .set({ status: 'Processing', attempts: 1, leaseOwner: 'other:1:y', leaseExpires: soon })
      .where('id', '=', first.children[0]!.id)
      .execute();
    const ran: string[] = [];
    await runner().start(async (task) => {
      ran.push(task.instanceId!);
    });
    await settled(second.children[1]!.id); // acp-2 is free
    expect(ran).toEqual(['acp-2']);
    // once the other runner's lease lapses its task is re-run first, then the queued one
    await settled(second.batch.id);
    expect(ran).toEqual(['acp-2', 'acp-1', 'acp-1']);
    expect(await db.tasks.get(ACCOUNT, first.children[0]!.id)).toMatchObject({ status: 'Finished', attempts: 2 });
  });

  it('stop() hands aborted tasks back, stop({drain}) lets them finish', async () => {
    const { children } = await batch(['acp-1', 'acp-2']);
    const started = new Set<string>();
    const first = runner({ concurrency: 2 });
    await first.start(
      (task, ctx) =>
        new Promise((_resolve, reject) => {
          started.add(task.id);
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason));
        }),
    );
    await waitFor(async () => started.size === 2, 'both started');
    await first.stop();
    for (const c of children)
      expect(await db.tasks.get(ACCOUNT, c.id)).toMatchObject({ status: 'Waiting', attempts: 1 });

    const g = gate();
    const second = runner({ concurrency: 2 });
    await second.start(async () => {
      await g.opened;
      return 'drained';
    });
    await waitFor(
      async () => (await db.tasks.list(ACCOUNT, { taskStatus: 'Processing', level: 2 })).totalCount === 2,
      'both re-claimed',
    );
    const stopping = second.stop({ drain: true });
    g.open();
    await stopping;
    for (const c of children) {
      expect(await db.tasks.get(ACCOUNT, c.id)).toMatchObject({ status: 'Finished', attempts: 2, result: '"drained"' });
    }
  });

  it('aborts a task another runner took over', async () => {
    const { children } = await batch(['acp-1']);
    let aborted: unknown;
    await runner({ leaseMs: 300 }).start(
      (_task, ctx) =>
        new Promise((_resolve, reject) => {
          ctx.signal.addEventListener('abort', () => {
            aborted = ctx.signal.reason;
            reject(ctx.signal.reason);
          });
        }),
    );
    const id = children[0]!.id;
    await waitFor(async () => (await db.tasks.get(ACCOUNT, id))?.status === 'Processing', 'claim');
    await db.kysely.updateTable('tasks').set({ leaseOwner: 'thief:1:z' }).where('id', '=', id).execute();
    await waitFor(async () => aborted !== undefined, 'abort');
    expect(String(aborted)).toContain('taken over');
    // the loser must not settle a task it no longer holds
    expect(await db.tasks.get(ACCOUNT, id)).toMatchObject({ status: 'Processing' });
  });

  it('two runners never claim the same task', async () => {
    const phones = Array.from({ length: 24 }, (_, i) => `acp-${i % 6}`);
    const { batch: b } = await batch(phones);
    const other = backend === 'postgres' ? await t.openAnother() : db; // separate pool on PostgreSQL
    const runs = new Map<string, number>();
    const perRunner = [0, 0];
    const busy = new Set<string>();
    let overlap = false;
    const handler =
      (n: 0 | 1): TaskHandler =>
      async (task) => {
        perRunner[n]!++;
        runs.set(task.id, (runs.get(task.id) ?? 0) + 1);
        if (busy.has(task.instanceId!)) overlap = true;
        busy.add(task.instanceId!);
        await new Promise((r) => setTimeout(r, 5));
        busy.delete(task.instanceId!);
      };
    await runner({ concurrency: 3, pollIntervalMs: 20 }).start(handler(0));
    await runner({ concurrency: 3, pollIntervalMs: 20 }, other).start(handler(1));
    expect(await settled(b.id)).toMatchObject({ status: 'Finished', successChildCount: 24 });
    expect(runs.size).toBe(24);
    expect([...runs.values()].every((n) => n === 1)).toBe(true);
    expect(overlap).toBe(false);
    expect(perRunner[0]).toBeGreaterThan(0);
    expect(perRunner[1]).toBeGreaterThan(0);
  });
});
