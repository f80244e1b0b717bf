import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Kysely } from 'kysely';
import { WORKER_DEFAULTS } from '../config.ts';
import type { Database } from '../db/schema.ts';
import type { Task } from '../db/tasks-repo.ts';
import { ERRORS, ServiceError } from '../errors.ts';
import { ProgressWriter } from './progress-writer.ts';
import type { SettledListener, TaskHandler, TaskQueue } from './task-queue.ts';
import { type Held, type Outcome, type TaskHooks, TaskStore } from './task-store.ts';

export interface EmbeddedRunnerOptions {
  /** at most this many tasks at once in this runner (default WORKER_DEFAULTS) */
  concurrency?: number;
  /** how often to look for work when not notified (default 1000 ms) */
  pollIntervalMs?: number;
  /** a task whose runner stops renewing for this long is taken over (default WORKER_DEFAULTS) */
  leaseMs?: number;
  /**
   * the lease is renewed only for a task that reported progress within this long: a handler stuck
   * on a stalled phone or store then loses its task, which is aborted here and run again (or
   * failed with TaskInterrupted after maxAttempts) under the lease rules (default WORKER_DEFAULTS)
   */
  stallMs?: number;
  /** claims before a task that keeps losing its runner is failed with TaskInterrupted (default 3) */
  maxAttempts?: number;
  /** minimum time between progress writes per task (default 300 ms) */
  progressIntervalMs?: number;
  /** background faults (database down, a listener that threw); the loop backs off and carries on */
  onError?: (err: unknown, context: string) => void;
  /** what a claimed or settled task implies, committed in the transaction that claims or settles it */
  hooks?: TaskHooks;
  /**
   * the retry policy: how long to wait before running a task again after this error, or null to
   * fail it now (the default: never retry)
   */
  retryDelay?: (task: Task, err: ServiceError) => number | null;
  /** what of the handler's return value is stored as the task's Result (default: all of it) */
  resultOf?: (task: Task, value: unknown) => unknown;
}

type State = 'created' | 'active' | 'stopping' | 'stopped';
/** the abort reason a non-draining stop() gives its tasks: they go back to Waiting, not Failed */
class RunnerStopping extends Error {
  constructor() {
    super('the task runner is stopping');
  }
}
/** the abort reason of a task CancelTasks stopped: it fails with TaskCancelled */
class Cancelled extends Error {
  constructor() {
    super('the task was cancelled');
  }
}
const MAX_BACKOFF_MS = 30_000;

interface Running {
  controller: AbortController;
  done: Promise<void>;
  /** when the task last reported progress (or started) */
  active: number;
}

/** Runs tasks in this process with their state in the database (SQLite or PostgreSQL). Modelled
 * on pg-boss's worker: explicit states, an abortable poll delay, back-off after errors. */
export class EmbeddedRunner implements TaskQueue {
  readonly owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  private state: State = 'created';
  private readonly store: TaskStore;
  private readonly running = new Map<string, Running>();
  private readonly listeners = new Set<SettledListener>();
  private handler: TaskHandler | null = null;
  private loopDone: Promise<void> = Promise.resolve();
  private stopped: Promise<void> = Promise.resolve();
  private wake: (() => void) | null = null;
  /** set by a non-draining stop(): tasks claimed from now on are handed back unrun */
  private aborting = false;
  private woken = false;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private readonly opts: Required<Omit<EmbeddedRunnerOptions, 'onError' | 'hooks' | 'retryDelay' | 'resultOf'>> &
    Pick<EmbeddedRunnerOptions, 'onError' | 'retryDelay' | 'resultOf'>;

  constructor(db: Kysely<Database>, options: EmbeddedRunnerOptions = {}) {
    this.store = new TaskStore(db, options.hooks);
    this.opts = {
      ...WORKER_DEFAULTS,
      pollIntervalMs: 1000,
      maxAttempts: 3,
      progressIntervalMs: 300,
      ...options,
    };
  }

  async start(handler: TaskHandler): Promise<void> {
    if (this.state !== 'created') throw new Error(`runner cannot start when ${this.state}`);
    this.handler = handler;
    this.state = 'active';
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), Math.max(50, this.opts.leaseMs / 3));
    this.loopDone = this.loop();
  }

  notify(): void {
    this.woken = true;
    this.wake?.();
  }

  onSettled(listener: SettledListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Handlers must honour ctx.signal for a non-draining stop to be quick. A second call while
   * draining can still turn the drain into an abort. */
  stop(opts: { drain?: boolean } = {}): Promise<void> {
    if (this.state === 'created') this.state = 'stopped';
    if (this.state === 'stopped') return Promise.resolve();
    if (!opts.drain) {
      this.aborting = true;
      for (const r of this.running.values()) r.controller.abort(new RunnerStopping());
    }
    if (this.state === 'active') {
      this.state = 'stopping';
      this.notify();
      this.stopped = this.idle();
    }
    return this.stopped;
  }

  private async idle(): Promise<void> {
    await this.loopDone;
    while (this.running.size) await Promise.all([...this.running.values()].map((r) => r.done));
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.state = 'stopped';
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (this.state === 'active') {
      let again = false;
      try {
        for (const task of await this.store.recoverExpired(this.opts.maxAttempts)) await this.emitSettled(task);
        await this.abortLostStalled();
        if (this.running.size) {
          for (const id of await this.store.cancelRequested(this.owner)) this.abortCancelled(id);
        }
        const free = this.opts.concurrency - this.running.size;
        if (free > 0 && this.state === 'active') {
          const claimed = await this.store.claim(this.owner, free, this.opts.leaseMs);
          for (const task of claimed) this.run(task);
          // more may be waiting behind the candidates this poll saw
          again = claimed.length > 0 && this.running.size < this.opts.concurrency;
        }
        failures = 0;
      } catch (err) {
        failures++;
        this.report(err, 'poll');
      }
      const backoff = Math.min(this.opts.pollIntervalMs * 2 ** failures, MAX_BACKOFF_MS);
      if (!again) await this.delay(failures ? backoff : this.opts.pollIntervalMs);
    }
  }

  /** sleeps until the interval passed or notify() was called (also before the sleep began) */
  private delay(ms: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = null;
        this.woken = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  /**
   * CancelTasks on one task: a Waiting one fails now, a running one is marked and stopped by
   * its runner (this one at its next poll, which this wakes). Null when it has already settled.
   */
  async cancel(id: string, by: string): Promise<Task | null> {
    const r = await this.store.cancel(id, by);
    if (r?.settled) await this.emitSettled(r.task);
    else if (r) this.notify();
    return r?.task ?? null;
  }

  private run(task: Task): void {
    const held: Held = { owner: this.owner, attempt: task.attempts };
    if (this.running.has(task.id)) {
      // our own stalled run of it is still stopping: hand the new claim back until it has
      void this.store.release(held, task.id).catch((err) => this.report(err, `release ${task.id}`));
      return;
    }
    const controller = new AbortController();
    const entry: Running = { controller, done: Promise.resolve(), active: Date.now() };
    this.running.set(task.id, entry);
    if (this.aborting) controller.abort(new RunnerStopping());
    entry.done = this.execute(task, held, controller)
      .catch((err) => this.report(err, `task ${task.id}`))
      .finally(() => {
        this.running.delete(task.id);
        this.notify(); // a slot is free
      });
  }

  private async execute(task: Task, held: Held, controller: AbortController): Promise<void> {
    const handler = this.handler;
    if (!handler) return;
    const { signal } = controller;
    const progress = new ProgressWriter(this.opts.progressIntervalMs, (done, total) =>
      this.store.progress(held, task.id, done, total),
    );
    if (signal.aborted) return this.store.release(held, task.id);
    let outcome: Outcome;
    try {
      const entry = this.running.get(task.id);
      const onProgress = (d: number, t: number) => {
        if (entry) entry.active = Date.now();
        progress.update(d, t);
      };
      const fence = async () => {
        if (await this.store.fence(held, task.id, this.opts.leaseMs)) {
          // a run that reaches its fence is moving (a restore's apply steps move no bytes)
          if (entry) entry.active = Date.now();
          return;
        }
        // still ours but refused: CancelTasks marked it; otherwise another runner has it now
        if (!(await this.store.lostLease(this.owner, task.id))) controller.abort(new Cancelled());
        else controller.abort(new Error('task taken over by another runner'));
        throw signal.reason;
      };
      const value = await handler(task, { signal, progress: onProgress, fence });
      const shown = this.opts.resultOf ? this.opts.resultOf(task, value) : value;
      outcome = { status: 'Finished', result: shown === undefined ? null : JSON.stringify(shown), value };
    } catch (err) {
      if (signal.aborted && signal.reason instanceof RunnerStopping) {
        await progress.flush().catch(() => undefined);
        await this.store.release(held, task.id);
        return;
      }
      const delay = err instanceof ServiceError && !signal.aborted ? this.opts.retryDelay?.(task, err) : null;
      if (err instanceof ServiceError && delay != null) {
        await progress.flush().catch(() => undefined);
        await this.store.retry(held, task.id, delay, err);
        this.notifyLater(delay);
        return;
      }
      const e = signal.aborted && signal.reason instanceof Cancelled ? ERRORS.taskCancelled('CancelTasks') : err;
      outcome =
        e instanceof ServiceError
          ? { status: 'Failed', errorCode: e.code, errorMsg: e.message }
          : {
              status: 'Failed',
              errorCode: 'InternalError',
              errorMsg: e instanceof Error ? e.message : String(e),
            };
    }
    await progress.flush().catch((err) => this.report(err, `progress of ${task.id}`));
    const settled = await this.store.settle(held, task.id, outcome);
    if (settled) await this.emitSettled(settled);
  }

  /** wakes the poller when a task's backoff ends (the poll interval would find it too, later) */
  private notifyLater(ms: number): void {
    setTimeout(() => this.notify(), ms + 10).unref();
  }

  private async heartbeat(): Promise<void> {
    try {
      // a task that made no progress for stallMs is not renewed, and so is lost like a dead runner's
      const now = Date.now();
      const moving = [...this.running].filter(([, r]) => now - r.active < this.opts.stallMs).map(([id]) => id);
      const lost = await this.store.heartbeat(this.owner, moving, this.opts.leaseMs);
      for (const id of lost) this.abortTakenOver(id);
      await this.abortLostStalled();
    } catch (err) {
      this.report(err, 'heartbeat');
    }
  }

  /** stalled tasks whose lease lapsed (recoverExpired has requeued or failed them) stop here */
  private async abortLostStalled(): Promise<void> {
    const now = Date.now();
    for (const [id, r] of this.running) {
      if (now - r.active >= this.opts.stallMs && (await this.store.lostLease(this.owner, id))) this.abortTakenOver(id);
    }
  }

  private abortCancelled(id: string): void {
    this.running.get(id)?.controller.abort(new Cancelled());
  }

  private abortTakenOver(id: string): void {
    this.running.get(id)?.controller.abort(new Error('task taken over by another runner'));
  }

  private async emitSettled(task: Task): Promise<void> {
    for (const listener of this.listeners) {
      try {
        await listener(task);
      } catch (err) {
        this.report(err, `onSettled listener for ${task.id}`);
      }
    }
  }

  private report(err: unknown, context: string): void {
    this.opts.onError?.(err, context);
  }
}
